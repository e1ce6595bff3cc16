package dev.hako.host;

import dev.hako.vmm.sched.CpuEntitlement;
import dev.hako.vmm.sched.Partition;

/**
 * A VM's use of its CPU entitlement, read from its scheduler partition: the entitlement in force, the CPU time its
 * vCPUs used and were promised since it started, the time they were runnable but held back (steal, which the guest
 * sees too), and how often a vCPU was throttled.
 */
public record PartitionUsage(CpuEntitlement entitlement, long cpuNanos, long entitledNanos, long stealNanos,
        long throttled) {
    static PartitionUsage of(Partition p) {
        return new PartitionUsage(p.entitlement(), p.cpuNanos(), p.entitledNanos(), p.stealNanos(),
                p.throttledCount());
    }
}
