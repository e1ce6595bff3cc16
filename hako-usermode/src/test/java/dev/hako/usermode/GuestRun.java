package dev.hako.usermode;

import dev.hako.sys.Libc;
import dev.hako.testkit.CPrograms;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Runs a program natively and under {@link UserMode}, capturing exit status, stdout and stderr. */
final class GuestRun {
    private static final long SYS_OPENAT = 257, SYS_CLOSE = 3;
    private static final int AT_FDCWD = -100, O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0x40, O_TRUNC = 0x200,
            O_CLOEXEC = 0x80000;

    /** How a run ended and what it printed; {@code messages} is what hako itself printed. */
    record Result(int status, byte[] stdout, String stderr, String messages) {
        String out() {
            return new String(stdout, StandardCharsets.UTF_8);
        }
    }

    private GuestRun() {}

    static Result hako(Path dir, Path stdin, Path root, String... argv) throws IOException {
        Path out = Files.createTempFile(dir, "out", ".bin");
        Path err = Files.createTempFile(dir, "err", ".txt");
        int in = open(stdin == null ? Path.of("/dev/null") : stdin, O_RDONLY);
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        int status;
        try (PrintStream ps = new PrintStream(log, true, StandardCharsets.UTF_8)) {
            status = UserMode.run(root, List.of(argv), new UserMode.Stdio(in, o, e), ps);
        } finally {
            close(in);
            close(o);
            close(e);
        }
        return new Result(status, Files.readAllBytes(out), Files.readString(err), log.toString(StandardCharsets.UTF_8));
    }

    static Result hako(Path dir, Path stdin, String... argv) throws IOException {
        return hako(dir, stdin, null, argv);
    }

    /** The same program natively, as hako's CPUID baseline would have glibc choose (see {@link CPrograms}). */
    static Result hostRun(Path dir, Path stdin, String... argv) throws IOException, InterruptedException {
        CPrograms.Run run = CPrograms.runNative(dir, stdin, List.of(argv));
        return new Result(run.status(), run.stdout(), new String(run.stderr(), StandardCharsets.UTF_8), "");
    }

    static int open(Path path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment name = arena.allocateFrom(path.toString());
            long fd = Libc.syscall(SYS_OPENAT, AT_FDCWD, name.address(), flags | O_CLOEXEC, 0644, 0, 0);
            if (fd < 0) {
                throw new IllegalStateException("open " + path + ": errno " + -fd);
            }
            return (int) fd;
        }
    }

    static void close(int fd) {
        Libc.syscall(SYS_CLOSE, fd, 0, 0, 0, 0, 0);
    }

    /** Where tests keep what they fetch or build once: ${hako.cache} or ~/.cache/hako. */
    static Path cacheDir() throws IOException {
        String configured = System.getProperty("hako.cache");
        Path dir = configured != null && !configured.isBlank() ? Path.of(configured)
                : Path.of(System.getProperty("user.home"), ".cache", "hako");
        Files.createDirectories(dir);
        return dir;
    }
}
