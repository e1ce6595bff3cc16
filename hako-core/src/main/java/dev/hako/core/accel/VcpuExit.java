package dev.hako.core.accel;

/** Why a vCPU stopped running guest code. Port and MMIO accesses never surface here: they go to the IoHandler. */
public sealed interface VcpuExit {
    /** HLT with nothing to take: wait for an interrupt, then run again. */
    record Halted() implements VcpuExit {}

    /** Triple fault or shutdown: the machine resets or ends. */
    record Shutdown(String reason) implements VcpuExit {}

    /** The guest asked for a reset (port 0xCF9, the keyboard controller). */
    record Reset() implements VcpuExit {}

    /** Another thread asked the vCPU to come out (pause, stop, a state request). */
    record Kicked() implements VcpuExit {}

    /** A debug trap the host asked for (single step, breakpoint, or {@code watchpoint}: null when none hit). */
    record DebugTrap(long rip, Watchpoint watchpoint) implements VcpuExit {}

    /** The accelerator could not go on: an emulation failure or a failing host call. */
    record Failed(String reason) implements VcpuExit {}

    VcpuExit HALTED = new Halted();
    VcpuExit KICKED = new Kicked();
}
