package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.vmm.boot.BzImagePayload;
import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Boots Debian's unmodified kernels on the soft CPU with an initramfs whose /init checks the machine from
 * inside: the timer ticks and time advances, busybox runs a pipeline and a background job, then the guest
 * powers off through ACPI. Kernels and busybox come from Debian's packages, fetched once into the cache.
 */
class BootIT {
    private static final long MEMORY = 512L << 20;
    private static final String CMDLINE = "console=ttyS0 rdinit=/init panic=-1 quiet";
    private static final String CHECKS = """
            #!/bin/busybox sh
            export PATH=/sbin:/usr/sbin:/bin:/usr/bin
            mount -t proc proc /proc
            mount -t sysfs sysfs /sys
            mount -t devtmpfs devtmpfs /dev
            echo HAKO-MARKER-BOOTED
            echo "uptime1 $(cut -d' ' -f1 /proc/uptime)"
            echo "ticks1 $(awk '/LOC:/ {print $2}' /proc/interrupts)"
            sleep 1
            echo "uptime2 $(cut -d' ' -f1 /proc/uptime)"
            echo "ticks2 $(awk '/LOC:/ {print $2}' /proc/interrupts)"
            echo "pipeline $(echo hello hako | tr a-z A-Z | sed s/HAKO/VM/ | wc -c)"
            (sleep 1; echo background-job-done) &
            echo foreground-continues
            wait
            echo "cpus $(grep -c ^processor /proc/cpuinfo)"
            cd /sys/devices/system/cpu/vulnerabilities && for f in *; do echo "vulnerability $f: $(cat $f)"; done
            grep LOC: /proc/interrupts
            echo HAKO-MARKER-DONE
            poweroff -f
            """;

    private static DebianPackages packages;
    private static Path busybox;

    @TempDir
    Path work;

    @BeforeAll
    static void fetch() throws Exception {
        packages = DebianPackages.inDefaultCache();
        busybox = packages.busybox();
    }

    private record Boot(int status, String console, String log) {}

    private Boot boot(Path kernel, int cpus, String init) throws Exception {
        Path initrd = work.resolve("initrd.cpio");
        Files.write(initrd, DefaultGuest.initramfs(busybox, init));
        RecordingConsole console = new RecordingConsole();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        MachineConfig config = new MachineConfig(kernel, initrd, CMDLINE, MEMORY, cpus, "soft");
        try (Machine m = Machine.create(config, console, new PrintStream(log, true))) {
            int status = m.run(10, TimeUnit.MINUTES);
            return new Boot(status, console.output(), log.toString());
        }
    }

    private static double number(String console, String key) {
        Matcher m = Pattern.compile(key + " ([0-9.]+)").matcher(console);
        assertThat(m.find()).as("'%s' in the console output:%n%s", key, console).isTrue();
        return Double.parseDouble(m.group(1));
    }

    private static void assertChecksPassed(Boot b, int cpus) {
        String out = b.console();
        assertThat(b.status()).as("exit status; hako said: %s%nconsole:%n%s", b.log(), out).isZero();
        assertThat(b.log()).contains("guest powered off");
        assertThat(out).contains("HAKO-MARKER-BOOTED", "HAKO-MARKER-DONE");
        assertThat(number(out, "uptime2")).as("uptime advances across sleep 1").isGreaterThan(number(out, "uptime1"));
        assertThat(number(out, "ticks2")).as("local APIC timer interrupts keep coming").isGreaterThan(number(out, "ticks1"));
        assertThat(number(out, "pipeline")).as("'HELLO VM\\n' through tr, sed and wc").isEqualTo(9);
        assertThat(out).contains("foreground-continues", "background-job-done");
        assertThat(out.indexOf("background-job-done")).isGreaterThan(out.indexOf("foreground-continues"));
        assertThat(number(out, "cpus")).isEqualTo(cpus);
        // The soft CPU does not speculate and says so (IA32_ARCH_CAPABILITIES): no page-table isolation, no
        // return thunks, no buffer clearing, no branch-history loop on each system call.
        assertThat(out).contains("vulnerability meltdown: Not affected", "vulnerability mds: Not affected",
                "vulnerability indirect_target_selection: Not affected", "vulnerability l1tf: Not affected",
                "vulnerability spec_store_bypass: Not affected");
        assertThat(out).containsPattern("vulnerability spectre_v2: Mitigation: Enhanced / Automatic IBRS.*BHI: BHI_DIS_S");
    }

    @Test
    void cloudKernelAsBzImage() throws Exception {
        assertChecksPassed(boot(packages.debianKernel(), 1, CHECKS), 1);
    }

    @Test
    void cloudKernelAsPvhVmlinux() throws Exception {
        Path vmlinux = work.resolve("vmlinux");
        Path bzImage = packages.debianKernel();
        Files.write(vmlinux, BzImagePayload.extractVmlinux(Files.readAllBytes(bzImage), bzImage.toString()));
        assertChecksPassed(boot(vmlinux, 1, CHECKS), 1);
    }

    @Test
    void genericKernel() throws Exception {
        Path kernel = packages.findFile("linux-image-amd64", "boot/vmlinuz-*", "the generic Debian kernel");
        assertChecksPassed(boot(kernel, 1, CHECKS), 1);
    }

    @Test
    void twoCpusAreSeenAndUsed() throws Exception {
        Boot b = boot(packages.debianKernel(), 2, CHECKS);
        assertChecksPassed(b, 2);
        Matcher loc = Pattern.compile("LOC:\\s+(\\d+)\\s+(\\d+)").matcher(b.console());
        assertThat(loc.find()).as("two columns of local timer interrupts:%n%s", b.console()).isTrue();
        assertThat(Long.parseLong(loc.group(2))).as("CPU1 takes its own timer interrupts").isPositive();
    }

    @Test
    void commandTypedIntoTheSerialConsoleRuns() throws Exception {
        Path initrd = work.resolve("default.cpio");
        Files.write(initrd, DefaultGuest.initramfs(busybox));
        RecordingConsole console = new RecordingConsole();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        MachineConfig config = new MachineConfig(packages.debianKernel(), initrd, CMDLINE, MEMORY, 1, "soft");
        try (Machine m = Machine.create(config, console, new PrintStream(log, true))) {
            Thread runner = Thread.ofPlatform().start(() -> {
                try {
                    m.run(10, TimeUnit.MINUTES);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            int prompt = console.await("# ", 0, Duration.ofMinutes(8));
            assertThat(prompt).as("shell prompt; console:%n%s", console.output()).isNotNegative();
            console.type("echo typed-$((6*7))-back\n");
            assertThat(console.await("typed-42-back", prompt, Duration.ofMinutes(2)))
                    .as("command output; console:%n%s", console.output()).isNotNegative();
            console.type("poweroff\n");
            runner.join(Duration.ofMinutes(2));
            assertThat(log.toString()).contains("guest powered off");
        }
    }
}
