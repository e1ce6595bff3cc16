package dev.hako.mgmt.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.vmm.image.DefaultGuest;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web console in a real browser (Debian's headless Chromium through chromedriver, driven by Selenium) against
 * a server on TCP localhost with the default guest (Debian's kernel, busybox) on the soft CPU: the page lists the
 * VM, its start button boots it and shows the boot log in the xterm.js terminal, a command typed there gets its
 * answer, the VM's CPU chart gains points while it runs, and an entitlement set from the page reaches the API.
 * One boot. Skipped, saying why, where chromium or chromedriver is not installed (CI installs both).
 */
class WebConsoleIT {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Duration BOOT = Duration.ofSeconds(120);

    @TempDir
    Path state;

    @Test
    void thePageRunsAVmShowsItsConsoleAndChartAndSetsItsEntitlement() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "the browser test needs Debian's chromium and chromium-driver (" + CHROMIUM + ", " + CHROMEDRIVER
                        + "): apt-get install chromium chromium-driver");
        try (ApiFixture api = new ApiFixture(state)) {
            assertThat(api.unix("PUT", "/vms/web", "{\"memory_mib\": 128, \"accel\": \"soft\"}").status())
                    .isEqualTo(201);
            WebDriver browser = chromium();
            try {
                browser.get("http://127.0.0.1:" + api.server.tcpPort() + "/?token=" + ApiFixture.TOKEN);
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(10));
                WebElement row = wait.until(b -> b.findElements(By.cssSelector("tr[data-vm='web']")).stream()
                        .findFirst().orElse(null));
                assertThat(row.findElement(By.cssSelector("td.state")).getText()).isEqualTo("defined");
                assertThat(browser.getCurrentUrl()).as("the token leaves the address bar").doesNotContain("token");

                row.findElement(By.cssSelector("button[data-action='start']")).click();
                wait.until(b -> row.findElement(By.cssSelector("td.state")).getText().equals("running"));
                String boot = awaitTerminal(browser, Pattern.compile(Pattern.quote(DefaultGuest.BANNER)), BOOT);
                assertThat(boot).as("the boot log").contains("Linux version");
                awaitTerminal(browser, Pattern.compile("(?m)^[^\\n]*# *$"), Duration.ofSeconds(30));

                WebElement keys = browser.findElement(By.cssSelector("#terminal .xterm-helper-textarea"));
                keys.sendKeys("echo hi-$((6*7))" + Keys.ENTER);
                awaitTerminal(browser, Pattern.compile("(?m)^hi-42 *$"), Duration.ofSeconds(30));

                WebElement chart = row.findElement(By.cssSelector("canvas.chart"));
                int points = Integer.parseInt(chart.getAttribute("data-points"));
                new WebDriverWait(browser, Duration.ofSeconds(10)).until(b ->
                        Integer.parseInt(chart.getAttribute("data-points")) >= points + 3);
                assertThat(Double.parseDouble(chart.getAttribute("data-used"))).as("cores used").isBetween(0.0, 1.2);
                assertThat(Double.parseDouble(chart.getAttribute("data-entitled"))).isEqualTo(1.0);

                WebElement entitlement = row.findElement(By.cssSelector("input.entitlement"));
                entitlement.clear();
                entitlement.sendKeys("0.35");
                row.findElement(By.cssSelector("button[data-action='apply-entitlement']")).click();
                wait.until(b -> row.findElement(By.cssSelector("td.entitlement")).getText().startsWith("0.35"));
                assertThat(api.unix("GET", "/vms/web", null).json().path("config").path("cpu").path("entitlement")
                        .asDouble()).isEqualTo(0.35);
                assertEntitlementMetric(api.unix("GET", "/metrics", null).body(), 0.35);
                wait.until(b -> "0.35".equals(chart.getAttribute("data-entitled")));
            } finally {
                browser.quit();
            }
            assertThat(api.unix("POST", "/vms/web/stop", null).json().path("state").asText()).isEqualTo("stopped");
        }
    }

    private static WebDriver chromium() {
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        // Root in a container: Chromium's sandbox needs user namespaces it may not have.
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER.toString())).usingAnyFreePort().build();
        return new ChromeDriver(service, options);
    }

    /** Waits until the terminal's text matches {@code pattern}; returns the text. */
    private static String awaitTerminal(WebDriver browser, Pattern pattern, Duration timeout) {
        String[] text = {""};
        try {
            new WebDriverWait(browser, timeout, Duration.ofMillis(200)).until(b -> {
                text[0] = (String) ((JavascriptExecutor) b).executeScript("return window.hakoConsole.terminalText()");
                return pattern.matcher(text[0]).find();
            });
        } catch (RuntimeException e) {
            throw new AssertionError("the terminal never showed " + pattern + "; it shows:\n" + text[0], e);
        }
        return text[0];
    }

    /** The entitlement in force, as {@code GET /metrics} shows it. */
    private static void assertEntitlementMetric(String metrics, double expected) {
        Matcher m = Pattern.compile("(?m)^hako_vm_cpu_entitlement_cores\\{vm=\"web\"[^}]*} (\\S+)$").matcher(metrics);
        assertThat(m.find()).as(metrics).isTrue();
        assertThat(Double.parseDouble(m.group(1))).isEqualTo(expected);
    }
}
