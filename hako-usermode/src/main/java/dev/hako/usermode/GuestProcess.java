package dev.hako.usermode;

import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One emulated Linux process: its address space, file descriptors, working directory, heap break, signal
 * dispositions, threads, children, and how it ended. Process-wide state is shared by its threads; what a
 * syscall handler needs of the calling thread it gets from {@link GuestThread#current()}.
 *
 * <p>Lifecycle: the last thread to end closes the fds and drops the address space; the process then is a
 * zombie until its parent's wait4 reaps it (or at once when it has no parent or ignores SIGCHLD).
 */
final class GuestProcess {
    static final int SIGILL = 4, SIGABRT = 6, SIGFPE = 8, SIGKILL = 9, SIGSEGV = 11, SIGPIPE = 13;
    /** Wait status of a process hako ended for an internal error: shown as 125 for the initial process. */
    static final int INTERNAL_ERROR = -125;

    final ProcessTable table;
    final int pid;
    volatile String name;
    /** Guest-visible absolute name of the program, for /proc/self/exe. */
    volatile String exePath;
    volatile AddressSpace space;
    final FdTable fds;
    final GuestPaths paths;
    final PrintStream log;
    /** The parent, or null for the initial process and for orphans (their parent is "init"). */
    GuestProcess parent;
    final List<GuestProcess> children = new ArrayList<>();
    final List<GuestThread> threads = new ArrayList<>();
    /** Signal sent to the parent at exit (SIGCHLD, or clone's exit signal). */
    int exitSignal = SignalInfo.SIGCHLD;

    /** Start of the heap (just above the program image) and the current break. */
    long brkStart, brk;
    /** Where anonymous and file mmaps are placed, top-down. */
    long mmapLow, mmapHigh;

    /** Per signal (1..64): handler, flags, restorer, mask, as the kernel's struct sigaction. */
    final long[] sigactions = new long[65 * 4];
    final PendingSignals pending = new PendingSignals();
    final IntervalTimer timer;

    private volatile boolean exiting;
    /** Linux wait status (exit code << 8, or the signal), or {@link #INTERNAL_ERROR}. */
    private int waitStatus;
    boolean zombie;
    /** A vfork parent waits until this child execs or ends. */
    volatile boolean vforkReleased = true;
    GuestThread vforkParent;

    GuestProcess(ProcessTable table, int pid, String name, String exePath, AddressSpace space, FdTable fds,
            GuestPaths paths) {
        this.table = table;
        this.pid = pid;
        this.name = name;
        this.exePath = exePath;
        this.space = space;
        this.fds = fds;
        this.paths = paths;
        this.log = table.log;
        this.timer = new IntervalTimer(this);
    }

    // ---- argument checks (on the calling thread's buffers) ----

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

    MemorySegment pathA() {
        return GuestThread.current().pathA;
    }

    MemorySegment pathB() {
        return GuestThread.current().pathB;
    }

    MemorySegment scratch() {
        return GuestThread.current().scratch;
    }

    /**
     * A guest path name as a string of raw bytes (ISO-8859-1), or null with {@link #pathError} set to
     * {@code -EFAULT} or {@code -ENAMETOOLONG}.
     */
    String pathName(long gva) {
        byte[] b = space.readCString(gva, GuestPaths.PATH_MAX - 1);
        if (b == null) {
            GuestThread.current().pathError = space.tooLong() ? -Errno.ENAMETOOLONG : -Errno.EFAULT;
            return null;
        }
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    long pathError() {
        return GuestThread.current().pathError;
    }

    /**
     * Resolves guest name {@code gva} relative to guest {@code dirfd} into {@code buffer}; returns the host
     * dirfd to use with it, or -errno. {@code follow}: the syscall follows a symbolic link in the last component.
     */
    long hostPath(long dirfd, long gva, boolean follow, MemorySegment buffer) {
        String name = pathName(gva);
        if (name == null) {
            return pathError();
        }
        return paths.resolve(fds, dirfd, name, follow, buffer);
    }

    // ---- threads and ending ----

    /** The calling thread ends the process with exit status {@code status} (0-255). */
    void exit(int status) {
        exitGroup((status & 0xFF) << 8);
    }

    /** The process is ended by {@code signal} (wait status: the signal number). */
    void killedBy(int signal) {
        exitGroup(signal);
    }

    /** Ends every thread; the last one to stop finishes the process with {@code status} (a wait status). */
    void exitGroup(int status) {
        List<GuestThread> all;
        synchronized (this) {
            if (exiting) {
                return;
            }
            exiting = true;
            waitStatus = status;
            all = new ArrayList<>(threads);
        }
        timer.cancel();
        for (GuestThread t : all) {
            t.kill();
        }
    }

    boolean exitingAll() {
        return exiting;
    }

    int waitStatus() {
        return waitStatus;
    }

    synchronized void addThread(GuestThread t) {
        threads.add(t);
    }

    synchronized List<GuestThread> threadList() {
        return new ArrayList<>(threads);
    }

    /** Called by each thread as it ends; the last one finishes the process. */
    void threadEnded(GuestThread t) {
        boolean last;
        synchronized (this) {
            threads.remove(t);
            last = threads.isEmpty();
            if (last && !exiting) {
                exiting = true; // the last thread called exit: the process ends with its status
            }
        }
        table.threadEnded();
        if (last) {
            timer.cancel();
            fds.closeAll();
            paths.close();
            releaseVforkParent();
            table.processEnded(this);
        }
    }

    /** Sets the status a lone thread's exit gives the process. */
    synchronized void setExitStatusIfFirst(int status) {
        if (!exiting) {
            waitStatus = status;
        }
    }

    void releaseVforkParent() {
        GuestThread waiting = vforkParent;
        if (waiting != null) {
            vforkParent = null;
            vforkReleased = true;
            waiting.wake();
        }
    }
}
