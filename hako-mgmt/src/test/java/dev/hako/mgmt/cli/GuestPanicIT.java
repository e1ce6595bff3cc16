package dev.hako.mgmt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.machine.Machine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hako run} of a guest whose kernel panics, as a user sees it: an initramfs made by {@code hako initramfs}
 * loads Debian's pvpanic modules and crashes the kernel through sysrq; hako prints one line and ends with its
 * documented status, well before any watchdog.
 */
class GuestPanicIT {
    private static final String INIT = """
            #!/bin/busybox sh
            mount -t proc proc /proc
            insmod /lib/modules/pvpanic.ko && insmod /lib/modules/pvpanic-mmio.ko
            echo c > /proc/sysrq-trigger
            """;

    @TempDir
    Path dir;

    @Test
    void aPanickingGuestEndsTheRunWithStatus4AndOneLine() throws Exception {
        DebianPackages packages = DebianPackages.inDefaultCache();
        Path pvpanic = packages.findFile(DebianPackages.KERNEL_PACKAGE,
                "lib/modules/*/kernel/drivers/misc/pvpanic/pvpanic.ko", "the cloud kernel's modules");
        Path init = Files.writeString(dir.resolve("init"), INIT);
        Path initrd = dir.resolve("initrd.cpio");
        CliResult made = CliResult.inProcess("initramfs", "--init", init.toString(),
                "--add", pvpanic + "=/lib/modules/pvpanic.ko",
                "--add", pvpanic.resolveSibling("pvpanic-mmio.ko") + "=/lib/modules/pvpanic-mmio.ko", initrd.toString());
        assertThat(made.status()).as(made.err()).isZero();

        CliResult r = HakoProcess.run(HakoProcess.command(List.of(), "run", "--accel", "soft",
                "--kernel", packages.debianKernel().toString(), "--initrd", initrd.toString(),
                "--append", "console=ttyS0 rdinit=/init quiet"), new byte[0], 180);
        assertThat(r.status()).as(r.err()).isEqualTo(Machine.EXIT_GUEST_PANIC).isEqualTo(4);
        assertThat(r.out()).contains("Kernel panic");
        assertThat(r.err().lines().filter(l -> l.startsWith("hako:")).toList())
                .containsExactly("hako: the guest kernel panicked");
        assertThat(r.err()).doesNotContain("Exception", "at dev.hako");
    }
}
