package dev.hako.vmm.sched;

import dev.hako.core.accel.VirtualCpu;
import java.util.concurrent.locks.LockSupport;

/**
 * One vCPU of a {@link Partition} as the dispatcher sees it. Its thread announces itself ({@link #running}),
 * looks at {@link #throttled} whenever {@link VirtualCpu#run} returns, and waits out a throttle in
 * {@link #awaitWindow}; the dispatcher measures the thread's CPU time and throttles it (a flag and a kick) when
 * the window's budget is spent. The vCPU thread reads one volatile flag per exit and allocates nothing.
 */
public final class ScheduledVcpu {
    private final Partition partition;
    private final int index;
    private volatile boolean throttled;
    private volatile int tid;
    private volatile Thread thread;
    private volatile VirtualCpu vcpu;
    /** CPU time of the thread as last read, in nanoseconds; final once the thread ended. */
    private volatile long cpuNanos;
    private volatile long stealNanos;
    /** Odd while the vCPU sleeps in HLT; only its own thread changes it. */
    private volatile int haltEpoch;

    // The dispatcher's own bookkeeping (its thread only).
    long windowStartCpu = -1;
    /** Read by the vCPU's thread as it wakes, to tell whether the dispatcher must look sooner. */
    volatile long budget;
    /** The halt epoch seen just before the dispatcher's last reading of the thread's clock, and that reading. */
    int readEpoch = -1;
    long lastReading = -1;
    long base;
    long debt;
    /** CPU time used in the last closed window; -1 before the first. */
    long lastUsed = -1;
    boolean throttledThisWindow;
    boolean lastThrottled;
    boolean hungry;
    long extra;

    ScheduledVcpu(Partition partition, int index) {
        this.partition = partition;
        this.index = index;
    }

    public Partition partition() {
        return partition;
    }

    public int index() {
        return index;
    }

    /** On the vCPU's thread, before it first runs: the dispatcher measures and kicks it from now on. */
    public void running(VirtualCpu vcpu, int tid) {
        this.vcpu = vcpu;
        this.thread = Thread.currentThread();
        this.tid = tid;
        partition.scheduler().wakeDispatcher();
    }

    /** On the vCPU's thread as it ends, with its CPU time: the dispatcher forgets it. */
    public void ended(long cpuNanos) {
        tid = 0;
        this.cpuNanos = Math.max(this.cpuNanos, cpuNanos);
        throttled = false;
    }

    /**
     * On the vCPU's thread as it goes to sleep in HLT: from now on it uses no CPU time, so the dispatcher stops
     * watching it (and, when no vCPU of any machine runs, stops looking at all).
     */
    public void halting() {
        haltEpoch++;
    }

    /** On the vCPU's thread when it leaves its HLT sleep: the dispatcher watches it again. */
    public void woke() {
        haltEpoch++;
        partition.scheduler().woke(this);
    }

    /** True when the vCPU has slept in HLT since before the dispatcher's last reading: its CPU time is that. */
    boolean asleepSinceReading() {
        int e = haltEpoch;
        return (e & 1) == 1 && e == readEpoch;
    }

    /** True when the vCPU was asleep in HLT as the dispatcher's last reading began: it is not to be watched. */
    boolean readAsleep() {
        return (readEpoch & 1) == 1;
    }

    int haltEpoch() {
        return haltEpoch;
    }

    /** True while the vCPU has spent its budget for this window: it must not run until the next. */
    public boolean throttled() {
        return throttled;
    }

    /**
     * On the vCPU's thread when {@link #throttled}: parks until the next window, or until {@code stopping} says
     * the machine ends (its stop unparks the thread). Returns the time it waited, which is steal time.
     */
    public long awaitWindow(java.util.function.BooleanSupplier stopping) {
        long start = System.nanoTime();
        while (throttled && !stopping.getAsBoolean()) {
            LockSupport.park(this);
        }
        long waited = System.nanoTime() - start;
        stealNanos += waited; // only this thread writes it
        return waited;
    }

    /** CPU time the vCPU's thread used (as of the dispatcher's last look, or its end). */
    public long cpuNanos() {
        return cpuNanos;
    }

    /** Time the vCPU was runnable but kept waiting for its next window. */
    public long stealNanos() {
        return stealNanos;
    }

    int tid() {
        return tid;
    }

    /** The dispatcher's reading of the thread's CPU clock. */
    void measured(long nanos) {
        if (nanos > cpuNanos) {
            cpuNanos = nanos;
        }
    }

    /** From the dispatcher: the budget is spent; the vCPU leaves the guest at its next chance. */
    void throttle() {
        throttled = true;
        throttledThisWindow = true;
        VirtualCpu v = vcpu;
        if (v != null) {
            v.kick();
        }
    }

    /** From the dispatcher at a new window, or when the partition is released. */
    void release() {
        if (throttled) {
            throttled = false;
            Thread t = thread;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }
}
