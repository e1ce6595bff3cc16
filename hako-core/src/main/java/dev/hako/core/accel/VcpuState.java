package dev.hako.core.accel;

import dev.hako.core.x86.X86CpuState;

/**
 * Snapshot of one vCPU: its architectural state, a private copy that equals another save of the same state.
 * Version 2 added the debug registers (DR0-DR3, DR6, DR7); a version 1 document is read with their reset values.
 */
public record VcpuState(int version, X86CpuState cpu) {
    public static final int VERSION = 2;

    public VcpuState {
        cpu = cpu.copy();
    }

    /** A copy, so that whoever loads it cannot change the snapshot. */
    @Override
    public X86CpuState cpu() {
        return cpu.copy();
    }
}
