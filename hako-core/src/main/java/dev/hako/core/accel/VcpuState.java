package dev.hako.core.accel;

import dev.hako.core.x86.X86CpuState;

/** Snapshot of one vCPU: its architectural state, a private copy that equals another save of the same state. */
public record VcpuState(int version, X86CpuState cpu) {
    public static final int VERSION = 1;

    public VcpuState {
        cpu = cpu.copy();
    }

    /** A copy, so that whoever loads it cannot change the snapshot. */
    @Override
    public X86CpuState cpu() {
        return cpu.copy();
    }
}
