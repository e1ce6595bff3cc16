package dev.hako.vmm.machine;

import java.util.List;

/**
 * What a machine has used so far: per vCPU the host CPU time of its thread and the guest instructions it retired
 * (-1 where the accelerator does not count them), and the bytes its disks read and wrote and its network cards
 * received and sent. The counters are read without locks while the machine runs: each is exact for some recent
 * moment, not all for the same one.
 */
public record MachineStatistics(List<Vcpu> vcpus, long diskBytesRead, long diskBytesWritten, long netBytesReceived,
        long netBytesSent) {
    public MachineStatistics {
        vcpus = List.copyOf(vcpus);
    }

    /** One vCPU: its thread's CPU time in nanoseconds and its retired instructions (-1: not counted). */
    public record Vcpu(long cpuNanos, long instructions) {}

    /** All vCPUs' CPU time together. */
    public long cpuNanos() {
        return vcpus.stream().mapToLong(Vcpu::cpuNanos).sum();
    }

    /** All vCPUs' retired instructions together; -1 when none counts them. */
    public long instructions() {
        long total = -1;
        for (Vcpu v : vcpus) {
            if (v.instructions() >= 0) {
                total = Math.max(total, 0) + v.instructions();
            }
        }
        return total;
    }
}
