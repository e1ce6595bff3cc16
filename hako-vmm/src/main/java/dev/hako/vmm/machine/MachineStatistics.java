package dev.hako.vmm.machine;

import java.util.List;

/**
 * What a machine has used so far: per vCPU the host CPU time of its thread, the guest instructions it retired
 * (-1 where the accelerator does not count them) and its exits by kind, and the bytes its disks read and wrote and its network cards
 * received and sent. The counters are read without locks while the machine runs: each is exact for some recent
 * moment, not all for the same one.
 */
public record MachineStatistics(List<Vcpu> vcpus, long diskBytesRead, long diskBytesWritten, long netBytesReceived,
        long netBytesSent) {
    public MachineStatistics {
        vcpus = List.copyOf(vcpus);
    }

    /** One vCPU: its thread's CPU time in nanoseconds, its retired instructions (-1: not counted), its exits. */
    public record Vcpu(long cpuNanos, long instructions, Exits exits) {}

    /**
     * Why a vCPU left the guest, by kind: port and MMIO accesses (handled by a device model: what a
     * hardware-assisted vCPU exits for, and the soft CPU calls out for), HLT, and kicks (the scheduler's
     * throttle, an interrupt for a running vCPU, a pause or a progress sample).
     */
    public record Exits(long io, long mmio, long halt, long kick) {
        /** The kinds in the order of {@link #counts}, as the metrics name them. */
        public static final java.util.List<String> KINDS = java.util.List.of("io", "mmio", "halt", "kick");

        public long[] counts() {
            return new long[] {io, mmio, halt, kick};
        }
    }

    /** All vCPUs' exits together. */
    public Exits exits() {
        long io = 0, mmio = 0, halt = 0, kick = 0;
        for (Vcpu v : vcpus) {
            io += v.exits().io();
            mmio += v.exits().mmio();
            halt += v.exits().halt();
            kick += v.exits().kick();
        }
        return new Exits(io, mmio, halt, kick);
    }

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
