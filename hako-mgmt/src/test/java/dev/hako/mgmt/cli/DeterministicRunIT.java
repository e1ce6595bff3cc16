package dev.hako.mgmt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hako run --deterministic}: two boots of Debian's kernel with the same busybox initramfs print the same
 * console log byte for byte, the kernel's timestamps included ({@code printk.time=1}), and retire the same number
 * of instructions up to the power-off. The guest reads the clock (date, /proc/uptime), sleeps on a timer and
 * loops in the shell, so timer interrupts land throughout its run; nothing is typed.
 */
class DeterministicRunIT {
    private static final long BOOT_SECONDS = 300;
    private static final String INIT = """
            #!/bin/busybox sh
            [ -e /bin/mount ] || /bin/busybox --install -s
            export PATH=/sbin:/usr/sbin:/bin:/usr/bin
            mount -t proc proc /proc
            date
            cat /proc/uptime
            i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done
            echo "loop $i"
            sleep 1
            cat /proc/uptime
            grep -E 'timer|ttyS0|LOC' /proc/interrupts
            poweroff -f
            """;
    private static final Pattern RETIRED = Pattern.compile("hako: (\\d+) instructions retired \\(deterministic run\\)");
    private static final Pattern UPTIME = Pattern.compile("(?m)^(\\d+\\.\\d+) \\d+\\.\\d+$");

    @TempDir
    Path dir;

    @Test
    void twoBootsPrintTheSameLogAndRetireTheSameInstructions() throws Exception {
        Path initrd = dir.resolve("initrd.cpio");
        Files.write(initrd, DefaultGuest.initramfs(DebianPackages.inDefaultCache().busybox(), INIT));
        List<String> command = HakoProcess.command(List.of(), "run", "--deterministic", "--initrd", initrd.toString(),
                "--append", DefaultGuest.CMDLINE + " printk.time=1");

        CliResult first = HakoProcess.run(command, new byte[0], BOOT_SECONDS);
        CliResult second = HakoProcess.run(command, new byte[0], BOOT_SECONDS);

        for (CliResult r : List.of(first, second)) {
            assertThat(r.status()).as(r.err()).isZero();
            assertThat(r.err()).contains("guest powered off");
            assertThat(r.out()).contains("loop 20000").contains("Run /init as init process")
                    .as("the guest's wall clock is hako's, not the host's").contains("Jan  1 00:00:0");
        }
        assertThat(second.out()).isEqualTo(first.out());
        long retired = retired(first);
        assertThat(retired(second)).isEqualTo(retired);

        Matcher uptime = UPTIME.matcher(first.out());
        assertThat(uptime.find()).as(first.out()).isTrue();
        double before = Double.parseDouble(uptime.group(1));
        assertThat(uptime.find()).isTrue();
        double after = Double.parseDouble(uptime.group(1));
        assertThat(after - before).as("sleep 1 waited for a timer in guest time").isGreaterThanOrEqualTo(1.0);
        assertThat(retired).as("guest time is retired instructions: fewer than the nanoseconds of uptime, "
                + "since halts skip time").isLessThan((long) (after * 1e9));
    }

    private static long retired(CliResult r) {
        Matcher m = RETIRED.matcher(r.err());
        assertThat(m.find()).as(r.err()).isTrue();
        return Long.parseLong(m.group(1));
    }
}
