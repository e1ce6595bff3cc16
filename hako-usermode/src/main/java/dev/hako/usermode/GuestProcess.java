package dev.hako.usermode;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Interpreter;
import dev.hako.sys.Libc;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/**
 * One emulated Linux process (a single thread): its address space, file descriptors, working directory,
 * heap break, signal dispositions, and how it ended. Syscall handlers read and change it; only the thread
 * running the guest touches it.
 */
final class GuestProcess {
    static final int SIGILL = 4, SIGABRT = 6, SIGFPE = 8, SIGKILL = 9, SIGSEGV = 11, SIGPIPE = 13;

    final String name;
    /** Guest-visible absolute name of the program, for /proc/self/exe. */
    final String exePath;
    final AddressSpace space;
    final FdTable fds = new FdTable();
    final GuestPaths paths;
    final PrintStream log;
    final long pid;
    Cpu cpu;
    Interpreter interpreter;

    /** Start of the heap (just above the program image) and the current break. */
    long brkStart, brk;
    /** Where anonymous and file mmaps are placed, top-down. */
    long mmapLow, mmapHigh;

    /** Per signal (1..64): handler, flags, restorer, mask, as the kernel's struct sigaction. */
    final long[] sigactions = new long[65 * 4];
    long sigmask;
    /** sigaltstack: ss_sp, ss_flags, ss_size. */
    final long[] altStack = {0, 2 /* SS_DISABLE */, 0};
    long clearChildTid;

    private boolean exited;
    private int exitStatus;

    private final Arena arena = Arena.ofShared();
    /** Host-side buffers for translated syscall arguments: two path names and a general scratch area. */
    final MemorySegment pathA, pathB, scratch;

    GuestProcess(String name, String exePath, AddressSpace space, String root, PrintStream log) {
        this.name = name;
        this.exePath = exePath;
        this.space = space;
        this.log = log;
        this.pathA = arena.allocate(2 * GuestPaths.PATH_MAX + 4096, 16);
        this.pathB = arena.allocate(2 * GuestPaths.PATH_MAX + 4096, 16);
        this.scratch = arena.allocate(64 * 1024, 16);
        this.paths = new GuestPaths(root, scratch);
        this.pid = Libc.syscall(39, 0, 0, 0, 0, 0, 0);
    }

    // ---- argument checks ----

    /** Host address of a guest buffer the host may read, or -1 ({@code -EFAULT}). */
    long in(long gva, long size) {
        return space.host(gva, size, AddressSpace.READ);
    }

    /** Host address of a guest buffer the host may fill, or -1 ({@code -EFAULT}). */
    long out(long gva, long size) {
        return space.host(gva, size, AddressSpace.WRITE);
    }

    /** Host address of a guest buffer that may be NULL (0 stays 0), or -1. */
    long inOrNull(long gva, long size) {
        return gva == 0 ? 0 : in(gva, size);
    }

    long outOrNull(long gva, long size) {
        return gva == 0 ? 0 : out(gva, size);
    }

    /**
     * A guest path name as a string of raw bytes (ISO-8859-1), or null with {@link #pathError} set to
     * {@code -EFAULT} or {@code -ENAMETOOLONG}.
     */
    String pathName(long gva) {
        byte[] b = space.readCString(gva, GuestPaths.PATH_MAX - 1);
        if (b == null) {
            pathError = space.tooLong ? -Errno.ENAMETOOLONG : -Errno.EFAULT;
            return null;
        }
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    long pathError;

    /**
     * Resolves guest name {@code gva} relative to guest {@code dirfd} into {@code buffer}; returns the host
     * dirfd to use with it, or -errno. {@code follow}: the syscall follows a symbolic link in the last component.
     */
    long hostPath(long dirfd, long gva, boolean follow, MemorySegment buffer) {
        String name = pathName(gva);
        if (name == null) {
            return pathError;
        }
        return paths.resolve(fds, dirfd, name, follow, buffer);
    }

    // ---- ending ----

    /** Ends the process with exit status {@code status} (0-255). */
    void exit(int status) {
        if (!exited) {
            exited = true;
            exitStatus = status & 0xFF;
        }
        interpreter.stop();
    }

    /** Ends the process as killed by {@code signal}: status 128 + signal, as a shell reports it. */
    void killedBy(int signal) {
        exit(128 + signal);
    }

    boolean exited() {
        return exited;
    }

    int exitStatus() {
        return exitStatus;
    }

    void release() {
        fds.closeAll();
        paths.close();
        arena.close();
    }
}
