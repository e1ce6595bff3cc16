package dev.hako.vmm.sched;

import dev.hako.sys.ThreadCpuClock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import java.util.function.ToLongFunction;

/**
 * The CPU scheduler of one host process: admits {@link Partition}s while their entitlements fit the capacity
 * (a number of host cores), and enforces them with one dispatcher thread for all machines.
 *
 * <p>Time is cut into dispatch windows of {@link #WINDOW_NANOS} on a fixed grid. At each window's start the
 * dispatcher closes the last one (CPU time used, overruns, who was throttled), gives every vCPU a budget
 * ({@link WindowBudgets}) and lets the throttled ones run again. Within the window it sleeps until the earliest
 * moment a running vCPU could have spent its budget, reads that vCPU's thread CPU clock (a
 * {@code clock_gettime} of another thread's clock: no allocation, no help from the vCPU thread) and throttles
 * it when the budget is spent: a flag and {@code VirtualCpu.kick()}, after which the vCPU thread parks until the
 * next window. A halted vCPU uses no CPU time, so it spends nothing. Admission counts every entitlement, capped
 * or not, because an uncapped machine is guaranteed its entitlement too; what it gets beyond is idle capacity.
 */
public final class CpuScheduler implements AutoCloseable {
    public static final long WINDOW_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    /** Overruns beyond this are forgiven (a host that stalled the dispatcher for long is not the guest's doing). */
    static final long MAX_DEBT_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    /** {@link #dispatch}'s answer when no vCPU runs: look again when one wakes. */
    static final long IDLE = Long.MAX_VALUE;
    /** How long an idle dispatcher sleeps at most, so that the statistics keep up with the clock. */
    private static final long IDLE_LOOK_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final int capacityCores;
    private final LongSupplier clock;
    private final ToLongFunction<ScheduledVcpu> cpuClock;
    private final List<Partition> partitions = new CopyOnWriteArrayList<>();
    private final Thread dispatcher;
    private volatile boolean closed;
    private long windowEnd;
    private boolean windowOpen;
    /** When the dispatcher looks next ({@link #IDLE}: when a vCPU wakes), for vCPUs that wake meanwhile. */
    private volatile long nextLook = IDLE;

    /** As many cores as the JVM may use. */
    public CpuScheduler() {
        this(Runtime.getRuntime().availableProcessors());
    }

    /** A scheduler of {@code capacityCores} cores (fewer than the host has, for tests and for headroom). */
    public CpuScheduler(int capacityCores) {
        this(capacityCores, System::nanoTime, new ThreadClocks(), true);
    }

    /** With its own clocks; {@code dispatcherThread} false leaves {@link #dispatch} to the caller (tests). */
    CpuScheduler(int capacityCores, LongSupplier clock, ToLongFunction<ScheduledVcpu> cpuClock,
            boolean dispatcherThread) {
        if (capacityCores < 1) {
            throw new IllegalArgumentException("capacity " + capacityCores + " cores is not positive");
        }
        this.capacityCores = capacityCores;
        this.clock = clock;
        this.cpuClock = cpuClock;
        this.dispatcher = dispatcherThread
                ? Thread.ofPlatform().name("cpu-dispatcher").daemon().start(this::runDispatcher) : null;
    }

    public int capacityCores() {
        return capacityCores;
    }

    /** The entitlements of all partitions together, in hundredths of a core. */
    public synchronized int entitledUnits() {
        return partitions.stream().mapToInt(p -> p.entitlement().units()).sum();
    }

    /** The entitlements of the capped partitions together: what admission control holds to the host's cores. */
    public synchronized int cappedUnits() {
        return partitions.stream().filter(p -> p.entitlement().capped()).mapToInt(p -> p.entitlement().units())
                .sum();
    }

    /** The partitions admitted and not released, in admission order. */
    public List<Partition> partitions() {
        return List.copyOf(partitions);
    }

    /**
     * Admits machine {@code name} with {@code vcpus} vCPUs; throws {@link AdmissionException} when its entitlement
     * does not fit beside the others, and IllegalArgumentException for an entitlement out of range for its vCPUs
     * or a name already admitted.
     */
    public synchronized Partition admit(String name, int vcpus, CpuEntitlement entitlement)
            throws AdmissionException {
        if (closed) {
            throw new IllegalStateException("the CPU scheduler is closed");
        }
        entitlement.requireFits(vcpus);
        for (Partition p : partitions) {
            if (p.name().equals(name)) {
                throw new IllegalArgumentException("a partition named '" + name + "' exists already");
            }
        }
        requireCapacity(name, entitlement, 0);
        Partition p = new Partition(this, name, vcpus, entitlement);
        partitions.add(p);
        wakeDispatcher();
        return p;
    }

    synchronized void change(Partition p, CpuEntitlement entitlement) throws AdmissionException {
        if (p.released()) {
            throw new IllegalStateException("partition '" + p.name() + "' was released");
        }
        requireCapacity(p.name(), entitlement, p.entitlement().capped() ? p.entitlement().units() : 0);
        p.set(entitlement);
        wakeDispatcher();
    }

    synchronized void release(Partition p) {
        if (partitions.remove(p)) {
            p.markReleased();
        }
    }

    /**
     * Capped entitlements together may not exceed the host's cores (the admission rule, as on IBM's
     * shared processor pool); uncapped machines compete for what is there by weight and are always admitted.
     */
    private void requireCapacity(String name, CpuEntitlement entitlement, int replacedCappedUnits)
            throws AdmissionException {
        if (!entitlement.capped()) {
            return;
        }
        int others = cappedUnits() - replacedCappedUnits;
        int capacity = capacityCores * CpuEntitlement.UNITS_PER_CORE;
        if (others + entitlement.units() > capacity) {
            throw new AdmissionException("entitlement " + CpuEntitlement.cores(entitlement.units()) + " for '" + name
                    + "' does not fit: " + CpuEntitlement.cores(others) + " of the host's "
                    + CpuEntitlement.cores(capacity) + " cores are entitled to other capped machines");
        }
    }

    void wakeDispatcher() {
        if (dispatcher != null) {
            LockSupport.unpark(dispatcher);
        }
    }

    /** Stops the dispatcher and releases every partition. */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            for (Partition p : partitions) {
                release(p);
            }
        }
        if (dispatcher != null) {
            LockSupport.unpark(dispatcher);
            try {
                dispatcher.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void runDispatcher() {
        while (!closed) {
            if (partitions.isEmpty()) {
                windowOpen = false;
                LockSupport.park(this);
                continue;
            }
            long next = dispatch();
            long now = clock.getAsLong();
            if (next == IDLE) {
                LockSupport.parkNanos(this, IDLE_LOOK_NANOS);
            } else if (next > now) {
                LockSupport.parkNanos(this, next - now);
            }
        }
    }

    /**
     * From a vCPU's thread as it leaves its HLT sleep: when the dispatcher's next look is further away than the
     * vCPU's budget (it sleeps because nothing ran, or until its window ends), it looks now, so that the vCPU is
     * watched from the start. Costs a wake-up of the dispatcher only then.
     */
    void woke(ScheduledVcpu v) {
        long look = nextLook;
        if (dispatcher != null && (look == IDLE || look - clock.getAsLong() > v.budget)) {
            LockSupport.unpark(dispatcher);
        }
    }

    /**
     * One look of the dispatcher at the clock's current time: opens a new window when the last one is over, and
     * throttles the vCPUs that spent their budget. Returns when it should look again, or {@link #IDLE} when no
     * vCPU runs and none waits for a window (every one sleeps in HLT): then it looks again when one wakes.
     */
    long dispatch() {
        long now = clock.getAsLong();
        if (!windowOpen || now >= windowEnd) {
            // A fixed grid keeps the average exact when a look comes late; a look later than a window starts anew.
            windowEnd = !windowOpen || now - windowEnd >= WINDOW_NANOS ? now + WINDOW_NANOS : windowEnd + WINDOW_NANOS;
            windowOpen = true;
            nextWindow();
        }
        // Published before the vCPUs are looked at: one that wakes after its look compares its budget with this.
        nextLook = windowEnd;
        long next = windowEnd;
        boolean watching = false;
        for (Partition p : partitions) {
            for (ScheduledVcpu v : p.vcpus()) {
                if (v.throttled()) {
                    watching = true;
                    continue;
                }
                if (v.tid() == 0) {
                    continue;
                }
                long cpu = read(v);
                if (cpu < 0 || v.readAsleep()) {
                    continue;
                }
                if (v.windowStartCpu < 0) { // started in this window: measured from now, budgeted from the next
                    v.windowStartCpu = cpu;
                    watching = true;
                    continue;
                }
                watching = true;
                long used = cpu - v.windowStartCpu;
                if (used >= v.budget) {
                    v.throttle();
                } else {
                    next = Math.min(next, now + v.budget - used);
                }
            }
        }
        next = watching ? next : IDLE;
        nextLook = next;
        return next;
    }

    private void nextWindow() {
        for (Partition p : partitions) {
            long throttles = 0;
            for (ScheduledVcpu v : p.vcpus()) {
                long cpu = v.tid() == 0 ? -1 : read(v);
                if (cpu >= 0 && v.windowStartCpu >= 0) {
                    long used = cpu - v.windowStartCpu;
                    v.lastUsed = used;
                    // An overrun is paid back in the next windows (a late look must not leak CPU time).
                    v.debt = Math.min(MAX_DEBT_NANOS, v.debt + Math.max(0, used - v.budget));
                } else {
                    v.lastUsed = -1;
                    v.debt = 0;
                }
                v.windowStartCpu = cpu;
                v.lastThrottled = v.throttledThisWindow;
                throttles += v.throttledThisWindow ? 1 : 0;
                v.throttledThisWindow = false;
            }
            p.throttled(throttles);
        }
        WindowBudgets.plan(partitions, capacityCores * WINDOW_NANOS, WINDOW_NANOS);
        for (Partition p : partitions) {
            p.entitledUntil(windowEnd, WINDOW_NANOS);
            for (ScheduledVcpu v : p.vcpus()) {
                v.release();
            }
        }
    }

    /**
     * The CPU time of {@code v}'s thread: read from its clock, unless the vCPU has slept in HLT since the last
     * reading (a sleeping thread's clock stands still, and idle machines then cost the dispatcher nothing).
     */
    private long read(ScheduledVcpu v) {
        if (v.asleepSinceReading()) {
            return v.lastReading;
        }
        int epoch = v.haltEpoch();
        long cpu = cpuClock.applyAsLong(v);
        if (cpu >= 0) {
            v.measured(cpu);
            v.readEpoch = epoch;
            v.lastReading = cpu;
        }
        return cpu;
    }

    /** The host's per-thread CPU clocks, read by the dispatcher thread. */
    private static final class ThreadClocks implements ToLongFunction<ScheduledVcpu> {
        private final ThreadCpuClock clock = new ThreadCpuClock();

        @Override
        public long applyAsLong(ScheduledVcpu v) {
            int tid = v.tid();
            return tid == 0 ? -1 : clock.nanos(tid);
        }
    }
}
