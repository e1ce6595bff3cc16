package dev.hako.mgmt.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.vmm.image.DefaultGuest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two default guests (Debian's kernel, busybox) on the soft CPU in one server, driven through the API: the
 * console over WebSocket (a command and its answer; a late viewer gets the recent output), pause (the console is
 * quiet and the guest's clock stands still), resume, random requests while a VM runs (no 5xx, the VM undisturbed),
 * the metrics, stop, delete; then a new server on the same state directory knows the remaining VM and autostarts
 * it.
 */
class ApiServerIT {
    private static final long BOOT_SECONDS = 300;
    private static final String SOFT_VM = "{\"memory_mib\": 128, \"accel\": \"soft\"";

    @TempDir
    Path state;

    @Test
    void twoVmsLiveThroughTheApiAndTheirDefinitionsOutliveTheServer() throws Exception {
        try (ApiFixture api = new ApiFixture(state)) {
            assertThat(api.unix("PUT", "/vms/alpha", SOFT_VM + "}").status()).isEqualTo(201);
            assertThat(api.unix("PUT", "/vms/beta", SOFT_VM + ", \"autostart\": true}").status()).isEqualTo(201);
            ApiFixture.Answer started = api.unix("POST", "/vms/alpha/start", null);
            assertThat(started.status()).as(started.body()).isEqualTo(200);
            assertThat(started.json().path("state").asText()).isEqualTo("running");
            assertThat(api.unix("POST", "/vms/beta/start", null).status()).isEqualTo(200);
            assertThat(api.unix("POST", "/vms/beta/start", null).status()).isEqualTo(409);

            try (ConsoleViewer alpha = ConsoleViewer.open(api.overSocket, "alpha");
                 ConsoleViewer beta = ConsoleViewer.open(api.overSocket, "beta")) {
                int from = alpha.await(Pattern.compile(Pattern.quote(DefaultGuest.BANNER)), 0, BOOT_SECONDS).end();
                // The shell's banner; its prompt comes only once it reads input (busybox asks the terminal first).
                alpha.await(Pattern.compile("built-in shell"), from, 60);
                beta.await(Pattern.compile(Pattern.quote(DefaultGuest.BANNER)), 0, BOOT_SECONDS);

                alpha.type("echo hi-$((6*7))\n");
                alpha.await(Pattern.compile("hi-42"), from, 60);
                try (ConsoleViewer late = ConsoleViewer.open(api.overSocket, "alpha")) {
                    late.await(Pattern.compile(Pattern.quote(DefaultGuest.BANNER) + "[\\s\\S]*hi-42"), 0, 10);
                }
                assertThat(beta.output()).doesNotContain("hi-42");

                double before = uptime(alpha, "U1");
                ApiFixture.Answer paused = api.unix("POST", "/vms/alpha/pause", null);
                assertThat(paused.json().path("state").asText()).as(paused.body()).isEqualTo("paused");
                // What the guest wrote before the pause (the shell's prompt after U1) may still be on its way to
                // the viewer: the hub sends every 20 ms.
                TimeUnit.MILLISECONDS.sleep(300);
                int quietFrom = alpha.length();
                alpha.type("echo p$((1+1))\n"); // fits the UART's 16-byte FIFO: it waits there
                long pausedAt = System.nanoTime();
                TimeUnit.SECONDS.sleep(2);
                assertThat(alpha.output().substring(quietFrom)).as("output while paused").isEmpty();
                assertThat(api.unix("POST", "/vms/alpha/resume", null).json().path("state").asText())
                        .isEqualTo("running");
                alpha.await(Pattern.compile("(?m)^p2\\r?$"), quietFrom, 60);
                double after = uptime(alpha, "U2");
                double wall = (System.nanoTime() - pausedAt) / 1e9;
                assertThat(wall).isGreaterThan(2.0);
                assertThat(after - before).as("guest seconds across a %.1f s pause", wall).isLessThan(wall - 1.5);

                ApiFixture.Answer capped = api.unix("PUT", "/vms/alpha/cpu", "{\"entitlement\": 0.6, \"capped\": true}");
                assertThat(capped.status()).as(capped.body()).isEqualTo(200);
                assertThat(capped.json().path("usage").path("entitlement").asDouble()).isEqualTo(0.6);
                ApiFixture.Answer noRoom = api.unix("PUT", "/vms/beta/cpu", "{\"entitlement\": 0.5, \"capped\": true}");
                assertThat(noRoom.status()).as(noRoom.body()).isEqualTo(409);
                assertThat(noRoom.json().path("message").asText()).contains("does not fit");
                assertThat(api.unix("GET", "/vms/beta", null).json().path("config").path("cpu").path("entitlement")
                        .isMissingNode()).as("a refused change is not stored").isTrue();

                new ApiFuzz(7).run(api, 400);
                alpha.type("echo still-$((40+2))\n");
                alpha.await(Pattern.compile("still-42"), from, 60);

                String metrics = api.unix("GET", "/metrics", null).body();
                assertThat(metrics).contains("hako_vm_state{vm=\"alpha\",state=\"running\"} 1")
                        .contains("hako_vm_vcpu_seconds_total{vm=\"alpha\",vcpu=\"0\"}")
                        .contains("hako_vm_memory_bytes{vm=\"beta\"} " + (128L << 20))
                        .contains("hako_vm_cpu_entitlement_cores{vm=\"alpha\",capped=\"true\"} 0.60")
                        .contains("hako_vm_cpu_entitlement_cores{vm=\"beta\",capped=\"false\"} 1.00")
                        .contains("hako_vm_steal_seconds_total{vm=\"alpha\"}");
                Matcher instructions = Pattern.compile("hako_vm_instructions_total\\{vm=\"alpha\"} (\\d+)")
                        .matcher(metrics);
                assertThat(instructions.find()).as(metrics).isTrue();
                assertThat(Long.parseLong(instructions.group(1))).isGreaterThan(1_000_000);
                for (String kind : List.of("io", "halt")) { // the UART is ports; an idle shell halts
                    Matcher exits = Pattern.compile("hako_vm_exits_total\\{vm=\"alpha\",kind=\"" + kind
                            + "\"} (\\d+)").matcher(metrics);
                    assertThat(exits.find()).as(metrics).isTrue();
                    assertThat(Long.parseLong(exits.group(1))).as(kind).isPositive();
                }
                assertThat(api.unix("GET", "/vms/alpha", null).json().path("usage").path("cpu_seconds").asDouble())
                        .isPositive();

                assertThat(api.unix("PUT", "/vms/alpha/memory", "{\"balloon_target_mib\": 32}").status())
                        .isEqualTo(409);
                assertThat(api.unix("DELETE", "/vms/alpha", null).status()).isEqualTo(409);
                ApiFixture.Answer stopped = api.unix("POST", "/vms/alpha/stop", null);
                assertThat(stopped.json().path("state").asText()).as(stopped.body()).isEqualTo("stopped");
                assertThat(api.unix("DELETE", "/vms/alpha", null).status()).isEqualTo(204);
            }
        }
        assertThat(Files.exists(state.resolve("alpha.json"))).isFalse();

        try (ApiFixture again = new ApiFixture(state)) {
            List<String> names = new ArrayList<>();
            again.unix("GET", "/vms", null).json().forEach(vm -> names.add(vm.path("name").asText()));
            assertThat(names).as("beta and what the fuzz defined outlive the server, the deleted alpha does not")
                    .contains("beta").doesNotContain("alpha");
            assertThat(again.unix("GET", "/vms/beta", null).json().path("state").asText()).isEqualTo("defined");
            again.host.autostart();
            assertThat(again.unix("GET", "/vms/beta", null).json().path("state").asText()).isEqualTo("running");
            try (ConsoleViewer beta = ConsoleViewer.open(again.overSocket, "beta")) {
                beta.await(Pattern.compile(Pattern.quote(DefaultGuest.BANNER)), 0, BOOT_SECONDS);
            }
            assertThat(again.unix("POST", "/vms/beta/stop", null).json().path("state").asText())
                    .isEqualTo("stopped");
        }
    }

    /** The guest's uptime in seconds, read with a marker so that the answer is told from the echoed command. */
    private static double uptime(ConsoleViewer console, String marker) throws InterruptedException {
        int from = console.length();
        console.type("echo " + marker + "=$(cut -d' ' -f1 /proc/uptime)=\n");
        Matcher m = console.await(Pattern.compile(marker + "=([0-9.]+)="), from, 60);
        return Double.parseDouble(m.group(1));
    }
}
