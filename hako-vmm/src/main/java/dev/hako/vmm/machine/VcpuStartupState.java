package dev.hako.vmm.machine;

import dev.hako.core.state.RecordValues;

/** {@link VcpuStartup}'s state: per vCPU, whether it runs guest code (false: an AP waiting for INIT and SIPI). */
public record VcpuStartupState(int version, boolean[] started) {
    public static final int VERSION = 1;

    public VcpuStartupState {
        started = started.clone();
    }

    @Override
    public boolean[] started() {
        return started.clone();
    }

    @Override
    public boolean equals(Object other) {
        return RecordValues.equals(this, other);
    }

    @Override
    public int hashCode() {
        return RecordValues.hashCode(this);
    }
}
