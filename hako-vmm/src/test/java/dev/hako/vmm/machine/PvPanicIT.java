package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import dev.hako.vmm.image.KernelModules;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A guest kernel that panics ends the VM at once. Debian's cloud kernel builds the pvpanic driver as modules
 * (CONFIG_PVPANIC=y, CONFIG_PVPANIC_MMIO=m): loaded, pvpanic-mmio binds to the DSDT's QEMU0001 device, and
 * {@code echo c > /proc/sysrq-trigger} ends the run with {@link Machine#EXIT_GUEST_PANIC} and one line; the
 * command line has no {@code panic=}, so nothing but the device can end it. A kernel that panics before it can
 * load the driver (an initrd of random bytes) still ends through {@code panic=-1}, as a reset.
 */
class PvPanicIT {
    /** Dependency order: pvpanic-mmio needs pvpanic's symbols (modinfo "depends=pvpanic"). */
    static final List<String> MODULES = List.of("drivers/misc/pvpanic/pvpanic.ko",
            "drivers/misc/pvpanic/pvpanic-mmio.ko");
    private static final String INIT = """
            #!/bin/busybox sh
            export PATH=/sbin:/usr/sbin:/bin:/usr/bin
            mount -t proc proc /proc
            mount -t sysfs sysfs /sys
            for m in %s; do insmod /lib/modules/$m || echo "insmod-failed $m"; done
            echo "pvpanic-bound $(ls /sys/bus/platform/drivers/pvpanic-mmio/ | grep QEMU0001)"
            echo "pvpanic-events $(cat /sys/bus/platform/drivers/pvpanic-mmio/QEMU0001:00/capability)"
            echo c > /proc/sysrq-trigger
            echo HAKO-STILL-RUNNING
            """;
    private static final Duration BOUND = Duration.ofMinutes(3);

    @TempDir
    Path work;

    /** The default guest's initramfs with {@link #INIT} as /init and the pvpanic modules of the cloud kernel. */
    static byte[] panickingInitramfs(DebianPackages packages) throws Exception {
        KernelModules modules = KernelModules.of(packages, MODULES);
        return DefaultGuest.initramfs(packages.busybox(), INIT.formatted(modules.names()), modules.files());
    }

    private record Outcome(int status, String log, String console, Duration took) {}

    private Outcome boot(byte[] initrd, String cmdline) throws Exception {
        DebianPackages packages = DebianPackages.inDefaultCache();
        Path initrdFile = work.resolve("initrd");
        Files.write(initrdFile, initrd);
        RecordingConsole console = new RecordingConsole();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        MachineConfig config = new MachineConfig(packages.debianKernel(), initrdFile, cmdline, 256L << 20, 1, "soft",
                MachineConfig.DEFAULT_WATCHDOG);
        long start = System.nanoTime();
        try (Machine m = Machine.create(config, console, new PrintStream(log, true))) {
            int status = m.run(BOUND.toNanos(), TimeUnit.NANOSECONDS);
            return new Outcome(status, log.toString(), console.output(), Duration.ofNanos(System.nanoTime() - start));
        }
    }

    @Test
    void aPanicThroughThePvpanicDriverEndsTheVmWithItsOwnStatus() throws Exception {
        Outcome o = boot(panickingInitramfs(DebianPackages.inDefaultCache()), "console=ttyS0 rdinit=/init quiet");
        assertThat(o.status()).as("status; hako said %s%nconsole:%n%s", o.log(), o.console())
                .isEqualTo(Machine.EXIT_GUEST_PANIC);
        assertThat(o.console()).doesNotContain("insmod-failed").contains("pvpanic-bound QEMU0001:00")
                .contains("pvpanic-events 3").contains("Kernel panic")
                .doesNotContain("HAKO-STILL-RUNNING");
        assertThat(o.log()).isEqualTo("hako: the guest kernel panicked" + System.lineSeparator());
        assertThat(o.took()).isLessThan(BOUND);
    }

    @Test
    void aPanicBeforeTheDriverLoadsEndsThroughPanicMinusOne() throws Exception {
        byte[] noise = new byte[64 << 10];
        new Random(8).nextBytes(noise);
        Outcome o = boot(noise, "console=ttyS0 panic=-1 quiet");
        assertThat(o.status()).as("status; hako said %s%nconsole:%n%s", o.log(), o.console())
                .isEqualTo(Machine.EXIT_POWER_OFF);
        assertThat(o.console()).contains("Kernel panic");
        assertThat(o.log()).contains("guest reset").doesNotContain("panicked");
    }
}
