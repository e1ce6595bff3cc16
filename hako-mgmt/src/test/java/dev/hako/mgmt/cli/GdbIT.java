package dev.hako.mgmt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.vmm.image.DefaultGuest;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Debian's gdb (batch mode) against Debian's kernel booting on the soft CPU under {@code hako run --gdb
 * --gdb-wait}, in one boot. First, at the bzImage's 64-bit entry before any instruction ran: registers, a step,
 * {@code x/4i}, a software breakpoint a few instructions on, continue, detach. The guest then boots to its
 * shell, which gives the addresses of {@code __x64_sys_newuname} and {@code jiffies_64} from /proc/kallsyms
 * (Debian ships no System.map in the image package, and the kernel is randomised by KASLR). A second gdb attaches
 * to the running guest, sets a hardware breakpoint on the syscall and continues; {@code uname} typed into the
 * shell stops the guest there; gdb steps, reads RIP, disassembles, reads jiffies through the kernel's page
 * tables and detaches, and the shell prints uname's answer. A third gdb watches {@code jiffies_64}: {@code watch}
 * stops after the timer tick's store with the old and new value, {@code rwatch} after a read of it.
 */
class GdbIT {
    private static final long BOOT_SECONDS = 300;
    private static final Path GDB = Path.of("/usr/bin/gdb");

    private final StringBuffer out = new StringBuffer(), err = new StringBuffer();

    @Test
    void gdbBreaksStepsAndReadsMemoryInDebiansKernel() throws Exception {
        assertThat(Files.isExecutable(GDB)).as("Debian's gdb at " + GDB + " (apt-get install gdb)").isTrue();
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String target = "127.0.0.1:" + port;
        Process hako = new ProcessBuilder(HakoProcess.command(List.of(), "run", "--gdb", "tcp:" + target,
                "--gdb-wait")).start();
        HakoProcess.collect(hako.getInputStream(), out);
        HakoProcess.collect(hako.getErrorStream(), err);
        try (OutputStream console = hako.getOutputStream()) {
            await(err, s -> s.contains("gdb stub listening"), 60);

            String first = gdb(target, null, "info registers rip", "info registers eflags cr0 efer", "x/4i $pc", "stepi", "info registers rip",
                    "break *($pc+3)", "continue", "info registers rip", "info threads", "delete", "detach");
            Matcher entry = Pattern.compile("rip\\s+0x([0-9a-f]+)").matcher(first);
            assertThat(entry.find()).as(first).isTrue();
            long start = Long.parseLong(entry.group(1), 16);
            assertThat(first).contains("=> 0x" + Long.toHexString(start) + ":\tcld",
                    "0x" + pad(Long.toHexString(start + 1)) + " in ?? ()", "Breakpoint 1, 0x",
                    "rip            0x" + Long.toHexString(start + 4), "Thread 1 (vCPU 0)", "detached");
            // target.xml was understood: the flags by name, and hako's control registers.
            assertThat(first).containsPattern("eflags +0x[0-9a-f]+ +\\[ .*\\]")
                    .containsPattern("cr0 +0x8[0-9a-f]{7}").containsPattern("efer +0x5[0-9a-f]{2}");

            await(out, s -> s.contains(DefaultGuest.BANNER), BOOT_SECONDS);
            type(console, "grep -E ' (__x64_sys_newuname|jiffies_64)$' /proc/kallsyms\n");
            String syscall = symbol("__x64_sys_newuname"), jiffies = symbol("jiffies_64");

            String second = gdb(target, console, "hbreak *0x" + syscall, "continue", "info registers rip", "stepi",
                    "info registers rip", "x/4i $pc", "x/gx 0x" + jiffies, "delete", "detach");
            assertThat(second).contains("Hardware assisted breakpoint 1 at 0x" + syscall,
                    "Breakpoint 1, 0x" + pad(syscall),
                    "rip            0x" + syscall, "detached");
            Matcher rips = Pattern.compile("rip\\s+0x([0-9a-f]+)").matcher(second);
            List<String> seen = new ArrayList<>();
            while (rips.find()) {
                seen.add(rips.group(1));
            }
            assertThat(seen).hasSize(2).first().isEqualTo(syscall);
            assertThat(seen.get(1)).as("stepi moved on").isNotEqualTo(syscall);
            assertThat(second).contains("=> 0x" + seen.get(1) + ":");
            Matcher value = Pattern.compile("0x" + jiffies + ".*:\\s+0x([0-9a-f]+)").matcher(second);
            assertThat(value.find()).as(second).isTrue();
            assertThat(Long.parseUnsignedLong(value.group(1), 16)).as("jiffies").isNotZero();

            await(out, s -> s.contains("Linux hako"), 60); // uname -a, after the breakpoint

            String watched = "*(unsigned long *)0x" + jiffies;
            String third = gdb(target, null, "watch " + watched, "continue", "delete", "rwatch " + watched,
                    "continue", "delete", "detach");
            assertThat(third).contains("Hardware watchpoint 1: " + watched, "Hardware read watchpoint 2: " + watched,
                    "detached");
            Matcher change = Pattern.compile("Old value = (\\d+)\\s+New value = (\\d+)").matcher(third);
            assertThat(change.find()).as(third).isTrue();
            assertThat(Long.parseUnsignedLong(change.group(2))).as("jiffies went on")
                    .isGreaterThan(Long.parseUnsignedLong(change.group(1)));
            Matcher read = Pattern.compile("Value = (\\d+)").matcher(third.substring(change.end()));
            assertThat(read.find()).as(third).isTrue();
            assertThat(Long.parseUnsignedLong(read.group(1))).isGreaterThanOrEqualTo(
                    Long.parseUnsignedLong(change.group(2)));
            type(console, "poweroff\n");
        }
        assertThat(hako.waitFor(60, TimeUnit.SECONDS)).as(err.toString()).isTrue();
        assertThat(hako.exitValue()).as(err.toString()).isZero();
        assertThat(err.toString()).contains("gdb attached").doesNotContain("Exception");
    }

    private static String pad(String hex) {
        return "0".repeat(16 - hex.length()) + hex;
    }

    /** The address of {@code name} in what grep printed from /proc/kallsyms. */
    private String symbol(String name) throws InterruptedException {
        Pattern p = Pattern.compile("([0-9a-f]{16}) \\w " + name + "\\r?\\n");
        await(out, s -> p.matcher(s).find(), 60);
        Matcher m = p.matcher(out);
        m.find();
        String address = m.group(1).replaceFirst("^0+", "");
        assertThat(address).as("kallsyms shows addresses to root").isNotEmpty();
        return address;
    }

    /**
     * Runs gdb in batch mode with {@code commands} after {@code target remote}; with {@code console}, types
     * {@code uname -a} into the guest's shell once gdb continues. Returns what gdb printed.
     */
    private String gdb(String target, OutputStream console, String... commands) throws Exception {
        List<String> argv = new ArrayList<>(List.of(GDB.toString(), "-nx", "-batch", "-ex", "set pagination off",
                "-ex", "target remote " + target));
        for (String c : commands) {
            argv.add("-ex");
            argv.add(c);
        }
        Process gdb = new ProcessBuilder(argv).redirectErrorStream(true).start();
        StringBuffer printed = new StringBuffer();
        HakoProcess.collect(gdb.getInputStream(), printed);
        if (console != null) {
            // Batch mode prints no "Continuing.": type once the breakpoint is set (the shell's prompt may hit it
            // first, which is as good).
            await(printed, s -> s.contains("breakpoint 1 at"), 60);
            Thread.sleep(500);
            type(console, "uname -a\n");
        }
        assertThat(gdb.waitFor(120, TimeUnit.SECONDS)).as("gdb ended; it printed:\n" + printed).isTrue();
        return printed.toString();
    }

    private static void type(OutputStream console, String text) throws IOException {
        console.write(text.getBytes(StandardCharsets.US_ASCII));
        console.flush();
    }

    private void await(StringBuffer buffer, Predicate<String> done, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!done.test(buffer.toString())) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("waited " + seconds + " s for more of:\n" + buffer + "\nhako printed:\n" + out
                        + "\n" + err);
            }
            Thread.sleep(50);
        }
    }
}
