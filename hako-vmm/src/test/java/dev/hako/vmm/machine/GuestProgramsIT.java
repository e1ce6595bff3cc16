package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.testkit.CPrograms;
import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import dev.hako.vmm.image.DefaultGuest.GuestFile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real programs inside a guest: the host's gcc builds hako-testkit's C programs (threads, processes with fork,
 * exec and wait, signals with handlers and siglongjmp out of SIGSEGV, mmap/munmap/mprotect, and the user-mode
 * tests' programs) static, static-pie and dynamically linked, and some as 32-bit static programs ({@code -m32},
 * run in compatibility mode through the kernel's IA-32 emulation); one boot of Debian's cloud kernel on the soft CPU
 * (two vCPUs) runs them all from the initramfs, which also carries the host's dynamic loader and the libraries
 * {@code ldd} names, at their host paths. Each program's stdout, stderr and exit status in the guest must equal
 * its native run on the host (with glibc held to the CPU features hako advertises) byte for byte. The guest
 * prints each program's output base64-encoded between markers, so the serial line changes nothing.
 *
 * <p>{@code watchpoint} (a ptrace debugger's DR0/DR7 write watchpoint and single steps) is the exception where
 * the host cannot be the oracle: this host's hypervisor never raises the data breakpoint, so the native run
 * reports no trap. Its trap lines are what the program itself defines (three stores of 10, 20 and 30, each a
 * TRAP_HWBKPT with DR6.B0, RIP past the store); the rest of its output, single steps included, is the native
 * run's.
 */
class GuestProgramsIT {
    private static final long MEMORY = 512L << 20;
    private static final int CPUS = 2;
    private static final String CMDLINE = "console=ttyS0 rdinit=/init panic=-1 quiet";
    private static final String GUEST_DIR = "/opt/programs";
    private static final Pattern RESULT = Pattern.compile(
            "(?s)HAKO-PROGRAM (\\S+) (\\d+)\n(.*?)HAKO-STDERR\n(.*?)HAKO-PROGRAM-END\n");
    /** A kernel message between the lines of a program's output (none are expected with "quiet"). */
    private static final Pattern KERNEL_LINE = Pattern.compile("(?m)^\\[ *\\d+\\.\\d+\\] .*\n");

    /** A C program from hako-testkit built with gcc {@code flags}, named {@code name} in the guest. */
    private record Program(String name, String source, String flags) {}

    @TempDir
    Path work;

    private static List<Program> programs() {
        List<Program> programs = new ArrayList<>();
        for (String source : List.of("threads", "processes", "signals", "memory")) {
            programs.add(new Program(source + "-static", source, "-static -O2"));
            programs.add(new Program(source + "-static-pie", source, "-static-pie -O2"));
            programs.add(new Program(source + "-dynamic", source, "-O2"));
        }
        for (String source : List.of("arith", "control", "floats", "strings", "smc")) {
            programs.add(new Program(source + "-static", source, "-static -O2"));
            programs.add(new Program(source + "-dynamic", source, "-O2"));
        }
        programs.add(new Program("control-static-pie", "control", "-static-pie -O2"));
        programs.add(new Program("floats-static-pie", "floats", "-static-pie -O2"));
        programs.add(new Program("vectorized-static", "vectorized", "-static -O3"));
        programs.add(new Program("watchpoint-static", "watchpoint", "-static -O2"));
        // 32-bit programs (gcc-multilib) under the 64-bit kernel: the soft CPU's compatibility mode.
        for (String source : List.of("hello", "processes", "signals", "threads", "arith", "floats")) {
            programs.add(new Program(source + "-m32-static", source, "-m32 -static -O2"));
        }
        return programs;
    }

    @Test
    void programsPrintInTheGuestWhatTheyPrintNatively() throws Exception {
        DebianPackages packages = DebianPackages.inDefaultCache();
        Map<String, CPrograms.Run> expected = new LinkedHashMap<>();
        List<GuestFile> files = new ArrayList<>();
        Set<Path> libraries = new LinkedHashSet<>();
        for (Program p : programs()) {
            Path binary = CPrograms.compile(work, p.source(), p.flags());
            CPrograms.Run onHost = CPrograms.runNative(work, null, List.of(binary.toString()));
            expected.put(p.name(), p.source().equals("watchpoint") ? withWatchpointTraps(onHost) : onHost);
            files.add(GuestFile.copyOf(binary, GUEST_DIR + "/" + p.name()));
            if (p.name().endsWith("-dynamic")) {
                libraries.addAll(sharedObjects(binary));
            }
        }
        for (Path library : libraries) {
            files.add(GuestFile.copyOf(library, library.toString()));
        }
        Path initrd = work.resolve("initrd.cpio");
        Files.write(initrd, DefaultGuest.initramfs(packages.busybox(), initScript(expected.keySet()), files));

        RecordingConsole console = new RecordingConsole();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        MachineConfig config = new MachineConfig(packages.debianKernel(), initrd, CMDLINE, MEMORY, CPUS, "soft");
        int status;
        try (Machine m = Machine.create(config, console, new PrintStream(log, true))) {
            status = m.run(10, TimeUnit.MINUTES);
        }
        String out = console.output().replace("\r", "");
        assertThat(status).as("exit status; hako said: %s%nconsole:%n%s", log, out).isZero();
        assertThat(out).as("console").contains("HAKO-PROGRAMS-DONE");

        Map<String, CPrograms.Run> actual = results(out);
        SoftAssertions softly = new SoftAssertions();
        for (Map.Entry<String, CPrograms.Run> e : expected.entrySet()) {
            String name = e.getKey();
            CPrograms.Run want = e.getValue();
            CPrograms.Run got = actual.get(name);
            softly.assertThat(got).as("%s ran in the guest", name).isNotNull();
            if (got == null) {
                continue;
            }
            softly.assertThat(text(got.stdout())).as("%s stdout", name).isEqualTo(text(want.stdout()));
            softly.assertThat(got.stdout()).as("%s stdout bytes", name).isEqualTo(want.stdout());
            softly.assertThat(text(got.stderr())).as("%s stderr", name).isEqualTo(text(want.stderr()));
            softly.assertThat(got.status()).as("%s exit status", name).isEqualTo(want.status());
        }
        softly.assertAll();
    }

    /** A store to the watched variable, as watchpoint.c reports it: TRAP_HWBKPT (4), breakpoint 0 in DR6. */
    private static final String WATCHPOINT_TRAP = "trap %d: si_code 4, watched %d, dr6 b0-b3 0x1, rip in store() yes\n";

    /**
     * watchpoint.c's native output with the traps the program defines where a host that does not raise data
     * breakpoints reported none; a host that raises them already printed the same lines.
     */
    private static CPrograms.Run withWatchpointTraps(CPrograms.Run onHost) {
        String noTraps = "stopped by signal 19 after 0 traps\n";
        StringBuilder traps = new StringBuilder();
        for (int n = 1; n <= 3; n++) {
            traps.append(WATCHPOINT_TRAP.formatted(n, n * 10));
        }
        traps.append("stopped by signal 19 after 3 traps\n");
        String out = text(onHost.stdout());
        return new CPrograms.Run(onHost.status(), out.replace(noTraps, traps).getBytes(StandardCharsets.UTF_8),
                onHost.stderr());
    }

    /** The guest's /init: runs every program from /tmp, printing its status and output between markers. */
    private static String initScript(Set<String> names) {
        return """
                #!/bin/busybox sh
                export PATH=/sbin:/usr/sbin:/bin:/usr/bin
                mount -t proc proc /proc
                mount -t sysfs sysfs /sys
                mount -t devtmpfs devtmpfs /dev
                cd /tmp
                for p in %s; do
                  timeout 120 %s/$p </dev/null >/tmp/out 2>/tmp/err
                  status=$?
                  echo "HAKO-PROGRAM $p $status"
                  base64 /tmp/out
                  echo HAKO-STDERR
                  base64 /tmp/err
                  echo HAKO-PROGRAM-END
                done
                echo HAKO-PROGRAMS-DONE
                poweroff -f
                """.formatted(String.join(" ", names), GUEST_DIR);
    }

    private static Map<String, CPrograms.Run> results(String console) {
        Map<String, CPrograms.Run> results = new LinkedHashMap<>();
        Matcher m = RESULT.matcher(console);
        while (m.find()) {
            results.put(m.group(1), new CPrograms.Run(Integer.parseInt(m.group(2)), decode(m.group(3)),
                    decode(m.group(4))));
        }
        return results;
    }

    private static byte[] decode(String base64Lines) {
        return Base64.getMimeDecoder().decode(KERNEL_LINE.matcher(base64Lines).replaceAll(""));
    }

    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** The loader and libraries {@code ldd} says {@code binary} needs, as host paths. */
    private static List<Path> sharedObjects(Path binary) throws Exception {
        Process p = new ProcessBuilder("ldd", binary.toString()).redirectErrorStream(true).start();
        String listing = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("ldd %s: %s", binary, listing).isZero();
        List<Path> paths = new ArrayList<>();
        for (String line : listing.lines().toList()) {
            String entry = line.contains("=>") ? line.substring(line.indexOf("=>") + 2) : line;
            String path = entry.strip().split(" ")[0];
            if (path.startsWith("/")) {
                paths.add(Path.of(path));
            }
        }
        assertThat(paths).as("ldd %s: %s", binary, listing).isNotEmpty();
        return paths;
    }
}
