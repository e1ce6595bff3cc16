package dev.hako.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Gateway to {@code <time.h>}'s per-thread CPU clocks ({@code clock_gettime(2)}): the CPU time one host thread has
 * used, read from any thread of the process by the thread's kernel id. A reader owns one of these (it holds the
 * timespec the kernel fills in), so a read allocates nothing; the clock id is the one {@code
 * pthread_getcpuclockid(3)} gives (the kernel's {@code MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)}).
 */
public final class ThreadCpuClock {
    private static final long SYS_GETTID = 186, SYS_CLOCK_GETTIME = 228;
    private static final int CPUCLOCK_PER_THREAD = 4, CPUCLOCK_SCHED = 2;

    private final MemorySegment timespec = Arena.ofAuto().allocate(16, 8);

    /** The kernel's id of the calling thread. */
    public static int currentThreadId() {
        return (int) Libc.syscall(SYS_GETTID, 0, 0, 0, 0, 0, 0);
    }

    /** The CPU time in nanoseconds thread {@code tid} of this process has used; -1 when it no longer exists. */
    public long nanos(int tid) {
        int clock = (~tid << 3) | CPUCLOCK_PER_THREAD | CPUCLOCK_SCHED;
        if (Libc.syscall(SYS_CLOCK_GETTIME, clock, timespec.address(), 0, 0, 0, 0) < 0) {
            return -1;
        }
        return timespec.get(ValueLayout.JAVA_LONG, 0) * 1_000_000_000L + timespec.get(ValueLayout.JAVA_LONG, 8);
    }
}
