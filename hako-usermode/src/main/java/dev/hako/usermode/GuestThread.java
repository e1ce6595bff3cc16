package dev.hako.usermode;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Interpreter;
import dev.hako.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One guest thread: a soft CPU on its process's address space, run on its own Java thread. It holds what
 * Linux keeps per task: thread id, blocked mask, thread-directed pending signals, alternate signal stack and
 * clear_child_tid, and the host buffers its syscalls translate arguments into.
 *
 * <p>Blocking: every wait (a pipe read, poll, futex, wait4, sleep) also watches the thread's eventfd, which
 * {@link #wake} writes; so a signal, an exit_group or hako's own shutdown ends any wait at once, without
 * spinning and without signalling host threads.
 */
final class GuestThread {
    private static final ThreadLocal<GuestThread> CURRENT = new ThreadLocal<>();
    private static final long SYS_READ = 0, SYS_WRITE = 1, SYS_CLOSE = 3, SYS_PPOLL = 271, SYS_EVENTFD2 = 290;
    private static final int EFD_NONBLOCK = 0x800, EFD_CLOEXEC = 0x80000;
    static final int POLLIN = 1, POLLOUT = 4;
    /** Where {@link #waitReady} builds its pollfds and timespec in {@link #scratch}'s last page. */
    private static final long WAIT_SLOT = 63 * 1024;

    final GuestProcess process;
    final int tid;
    private volatile Cpu cpu;
    private volatile Interpreter interpreter;
    /** The address space this thread's CPU runs on (it holds a reference to it). */
    private AddressSpace space;
    private AddressSpace retired;
    private Thread javaThread;

    /** Blocked signals (bit n-1 for signal n); written by the thread itself only. */
    volatile long sigmask;
    final PendingSignals pending = new PendingSignals();
    /** sigaltstack: ss_sp, ss_flags, ss_size. */
    final long[] altStack = {0, SignalFrame.SS_DISABLE, 0};
    long clearChildTid;
    /** rt_sigsuspend's mask to put back once a handler has been set up (or at once if none was). */
    long savedMask;
    boolean restoreSavedMask;
    /** The -errno of the last failed {@link GuestProcess#pathName}. */
    long pathError;

    private volatile boolean tlbStale, codeStale;
    private volatile boolean killed;
    private boolean closed;

    private final Arena arena = Arena.ofShared();
    /** Host-side buffers for translated syscall arguments: two path names and a general scratch area. */
    final MemorySegment pathA, pathB, scratch;
    private final MemorySegment wakeValue, wakeSink;
    private final int wakeFd;

    GuestThread(GuestProcess process, int tid, AddressSpace space, Cpu cpu, Interpreter interpreter) {
        this.process = process;
        this.tid = tid;
        this.pathA = arena.allocate(2 * GuestPaths.PATH_MAX + 4096, 16);
        this.pathB = arena.allocate(2 * GuestPaths.PATH_MAX + 4096, 16);
        this.scratch = arena.allocate(64 * 1024, 16);
        this.wakeValue = arena.allocate(8, 8);
        this.wakeSink = arena.allocate(8, 8);
        this.wakeFd = (int) Libc.syscall(SYS_EVENTFD2, 0, EFD_NONBLOCK | EFD_CLOEXEC, 0, 0, 0, 0);
        use(space, cpu, interpreter);
    }

    /** The guest thread running on the calling Java thread, or null. */
    static GuestThread current() {
        return CURRENT.get();
    }

    Cpu cpu() {
        return cpu;
    }

    Interpreter interpreter() {
        return interpreter;
    }

    /**
     * Runs on {@code newCpu} over {@code newSpace} from now on (a new thread, or execve's new image); the old
     * interpreter stops, and the old space is let go once the run loop has left it.
     */
    void use(AddressSpace newSpace, Cpu newCpu, Interpreter newInterpreter) {
        Interpreter old = interpreter;
        Cpu oldCpu = cpu;
        newSpace.attach(this);
        retired = space;
        space = newSpace;
        cpu = newCpu;
        interpreter = newInterpreter;
        newCpu.syscallHandler = process.table.syscalls;
        if (old != null) {
            old.stop();
            oldCpu.mem.detach();
        }
    }

    /** Starts the Java thread that runs the guest. */
    void start() {
        javaThread = new Thread(null, this::run, "hako-user-" + process.pid + "-" + tid, 16L << 20);
        javaThread.setDaemon(true);
        javaThread.start();
    }

    boolean isAlive() {
        return javaThread != null && javaThread.isAlive();
    }

    void join(long millis) throws InterruptedException {
        if (javaThread != null) {
            javaThread.join(millis);
        }
    }

    private void run() {
        CURRENT.set(this);
        try {
            while (!killed) {
                Interpreter i = interpreter;
                Interpreter.Exit exit = i.run();
                if (interpreter != i) {
                    retired.detach(this); // execve gave the thread a new image
                    retired = null;
                    continue;
                }
                if (exit == Interpreter.Exit.KICKED) {
                    service(-1, 0);
                    continue;
                }
                break;
            }
        } catch (RuntimeException | StackOverflowError e) {
            process.log.printf("hako: %s: internal error at rip %#x: %s%n", process.name, cpu.rip, e);
            e.printStackTrace(process.log);
            process.exitGroup(GuestProcess.INTERNAL_ERROR);
        } finally {
            ended();
        }
    }

    /**
     * A delivery point: work other threads asked for (dropped translations or code), then signals; after a
     * syscall {@code nr} (-1: none) that returned {@code result}, which may ask for a restart.
     */
    void service(long nr, long result) {
        if (tlbStale) {
            tlbStale = false;
            cpu.mem.flush();
        }
        if (codeStale) {
            codeStale = false;
            interpreter.flushCode();
        }
        if (!killed) {
            SignalDelivery.deliverPending(this, cpu, nr, result);
        }
    }

    /** The address space changed: drop translations now on this thread, at the next block on another. */
    void mappingChanged(boolean code) {
        if (code) {
            codeStale = true;
        }
        if (current() == this) {
            cpu.mem.flush();
        } else {
            tlbStale = true;
            interpreter.kick();
        }
    }

    /** Another thread has something for this one (a signal): look before the next block, end any wait. */
    void notifyWork() {
        if (current() != this) {
            interpreter.kick();
        }
        wake();
    }

    /** Ends the thread (exit_group, a fatal signal, execve in another thread, shutdown). */
    void kill() {
        killed = true;
        interpreter.requestStop();
        wake();
    }

    boolean killed() {
        return killed;
    }

    /** Stops running guest code after this instruction; the thread ends (exit). */
    void stopSelf() {
        killed = true;
        interpreter.stop();
    }

    /** True when a wait must end: a signal to act on is pending, or the thread is being ended. */
    boolean interrupted() {
        return killed || ((pending.mask() | process.pending.mask()) & ~sigmask) != 0;
    }

    synchronized void wake() {
        if (closed) {
            return;
        }
        wakeValue.set(ValueLayout.JAVA_LONG, 0, 1);
        Libc.syscall(SYS_WRITE, wakeFd, wakeValue.address(), 8, 0, 0, 0);
    }

    /** Resets the eventfd after a wait saw it readable. */
    void drainWake() {
        Libc.syscall(SYS_READ, wakeFd, wakeSink.address(), 8, 0, 0, 0);
    }

    /**
     * Waits until host fd {@code hostFd} has {@code events} (POLLIN, POLLOUT; none with -1), {@code deadline}
     * ({@link System#nanoTime}, -1 for none) passes, or {@link #interrupted}. Returns 1 when ready, 0 at the
     * deadline, -1 when interrupted.
     */
    int waitReady(int hostFd, int events, long deadline) {
        MemorySegment s = scratch;
        while (true) {
            if (interrupted()) {
                return -1;
            }
            long timeout = 0;
            if (deadline >= 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return 0;
                }
                s.set(ValueLayout.JAVA_LONG, WAIT_SLOT + 16, left / 1_000_000_000L);
                s.set(ValueLayout.JAVA_LONG, WAIT_SLOT + 24, left % 1_000_000_000L);
                timeout = s.address() + WAIT_SLOT + 16;
            }
            s.set(ValueLayout.JAVA_INT, WAIT_SLOT, wakeFd);
            s.set(ValueLayout.JAVA_INT, WAIT_SLOT + 4, POLLIN);
            s.set(ValueLayout.JAVA_INT, WAIT_SLOT + 8, hostFd);
            s.set(ValueLayout.JAVA_INT, WAIT_SLOT + 12, events);
            long r = Libc.syscall(SYS_PPOLL, s.address() + WAIT_SLOT, hostFd < 0 ? 1 : 2, timeout, 0, 8, 0);
            if (r < 0 && r != -Errno.EINTR) {
                return 1; // let the caller's own syscall report the error
            }
            if (s.get(ValueLayout.JAVA_SHORT, WAIT_SLOT + 6) != 0) {
                drainWake();
            }
            if (hostFd >= 0 && s.get(ValueLayout.JAVA_SHORT, WAIT_SLOT + 14) != 0) {
                return 1;
            }
        }
    }

    /** Sleeps until {@code deadline} (nanoTime) or a {@link #wake}; the caller looks at its condition again. */
    void sleep(long deadline) {
        MemorySegment s = scratch;
        long timeout = 0;
        if (deadline >= 0) {
            long left = Math.max(0, deadline - System.nanoTime());
            s.set(ValueLayout.JAVA_LONG, WAIT_SLOT + 16, left / 1_000_000_000L);
            s.set(ValueLayout.JAVA_LONG, WAIT_SLOT + 24, left % 1_000_000_000L);
            timeout = s.address() + WAIT_SLOT + 16;
        }
        s.set(ValueLayout.JAVA_INT, WAIT_SLOT, wakeFd);
        s.set(ValueLayout.JAVA_INT, WAIT_SLOT + 4, POLLIN);
        Libc.syscall(SYS_PPOLL, s.address() + WAIT_SLOT, 1, timeout, 0, 8, 0);
        drainWake();
    }

    int wakeFd() {
        return wakeFd;
    }

    private void ended() {
        try {
            if (clearChildTid != 0 && !process.exitingAll() && process.out(clearChildTid, 4) >= 0) {
                process.space.writeInt(clearChildTid, 0);
                process.table.futexes.wake(process.space, clearChildTid, 1, -1);
            }
        } finally {
            if (retired != null) {
                retired.detach(this);
            }
            space.detach(this);
            cpu.mem.detach();
            synchronized (this) {
                closed = true;
                Libc.syscall(SYS_CLOSE, wakeFd, 0, 0, 0, 0, 0);
                arena.close();
            }
            CURRENT.remove();
            process.threadEnded(this);
        }
    }
}
