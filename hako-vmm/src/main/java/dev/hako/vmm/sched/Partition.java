package dev.hako.vmm.sched;

import java.util.List;
import java.util.stream.IntStream;

/**
 * What a machine holds from the {@link CpuScheduler}: its entitlement (changed live by {@link #change}), one
 * {@link ScheduledVcpu} per vCPU for the machine's vCPU threads, and its statistics: CPU time used, CPU time
 * entitled since admission, steal time (runnable but throttled) and how often a vCPU was throttled.
 * {@link #release} gives the entitlement back; the machine's vCPUs then run unthrottled.
 */
public final class Partition {
    private final CpuScheduler scheduler;
    private final String name;
    private final List<ScheduledVcpu> vcpus;
    private volatile CpuEntitlement entitlement;
    private volatile boolean released;
    // Written by the dispatcher only.
    private volatile long entitledNanos;
    private volatile long throttledCount;
    private long entitledUntil;
    private boolean entitledSince;

    Partition(CpuScheduler scheduler, String name, int vcpus, CpuEntitlement entitlement) {
        this.scheduler = scheduler;
        this.name = name;
        this.entitlement = entitlement;
        this.vcpus = IntStream.range(0, vcpus).mapToObj(i -> new ScheduledVcpu(this, i)).toList();
    }

    public String name() {
        return name;
    }

    public CpuEntitlement entitlement() {
        return entitlement;
    }

    public int vcpuCount() {
        return vcpus.size();
    }

    /** The scheduler's view of vCPU {@code index}, for that vCPU's thread. */
    public ScheduledVcpu vcpu(int index) {
        return vcpus.get(index);
    }

    /**
     * Changes the entitlement while the guest runs; it takes effect at the next dispatch window (within 10 ms).
     * Admitted like a new machine: throws {@link AdmissionException} when it would not fit, and keeps the old one.
     */
    public void change(CpuEntitlement newEntitlement) throws AdmissionException {
        scheduler.change(this, newEntitlement.requireFits(vcpus.size()));
    }

    /** Gives the entitlement back; the vCPUs are no longer throttled. Releasing twice does nothing. */
    public void release() {
        scheduler.release(this);
    }

    public boolean released() {
        return released;
    }

    /** CPU time the machine's vCPU threads have used, in nanoseconds (as of the last dispatch check). */
    public long cpuNanos() {
        long sum = 0;
        for (ScheduledVcpu v : vcpus) {
            sum += v.cpuNanos();
        }
        return sum;
    }

    /**
     * CPU time the entitlement promised since admission: the entitlement times the time covered by the windows
     * begun (including the time between windows, when every vCPU slept and the dispatcher did not look).
     */
    public long entitledNanos() {
        return entitledNanos;
    }

    /** Time the vCPUs were runnable but made to wait for their next window (the guest's steal time). */
    public long stealNanos() {
        long sum = 0;
        for (ScheduledVcpu v : vcpus) {
            sum += v.stealNanos();
        }
        return sum;
    }

    /** How many times a vCPU spent its budget and was stopped until its next window. */
    public long throttledCount() {
        return throttledCount;
    }

    @Override
    public String toString() {
        return name + " (" + vcpus.size() + " vCPUs, " + entitlement + ")";
    }

    CpuScheduler scheduler() {
        return scheduler;
    }

    List<ScheduledVcpu> vcpus() {
        return vcpus;
    }

    void set(CpuEntitlement e) {
        entitlement = e;
    }

    void markReleased() {
        released = true;
        for (ScheduledVcpu v : vcpus) {
            v.release();
        }
    }

    /** From the dispatcher at a window that ends at {@code windowEnd}: the entitled time up to there. */
    void entitledUntil(long windowEnd, long windowNanos) {
        long covered = entitledSince ? windowEnd - entitledUntil : windowNanos;
        entitledNanos += entitlement.units() * covered / CpuEntitlement.UNITS_PER_CORE;
        entitledUntil = windowEnd;
        entitledSince = true;
    }

    void throttled(long times) {
        throttledCount += times;
    }
}
