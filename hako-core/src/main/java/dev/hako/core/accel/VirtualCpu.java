package dev.hako.core.accel;

import dev.hako.core.state.Snapshotable;
import dev.hako.core.x86.X86CpuState;

/** One vCPU of an accelerator. Only its own thread calls {@link #run}, {@link #state} and {@link #load}. */
public interface VirtualCpu extends Snapshotable<VcpuState> {
    int index();

    /** Runs guest code until something needs the VMM. */
    VcpuExit run();

    /** From any thread: makes {@link #run} return {@link VcpuExit.Kicked} soon. */
    void kick();

    /**
     * From any thread: an interrupt became pending. An accelerator that takes interrupts itself at
     * instruction boundaries just notes it; others come out of {@link #run} to inject it.
     */
    default void interruptArrived() {
        kick();
    }

    /**
     * On its own thread, as it resumes: the vCPU was runnable but kept from running for {@code nanos} more (the
     * CPU scheduler throttled it). An accelerator that offers paravirtual steal time tells the guest; the default
     * drops it.
     */
    default void addStealTime(long nanos) {
    }

    /**
     * Guest instructions retired so far, read racily from any thread (a statistic, not a synchronisation point);
     * -1 when the accelerator does not count them (KVM without a PMU).
     */
    default long instructionsRetired() {
        return -1;
    }

    /**
     * For a debugger, with the vCPU stopped: from its next run, stop before executing an instruction at one of
     * {@code breakpoints} (addresses as RIP holds them), after an instruction that touched one of
     * {@code watchpoints}, or after one instruction when {@code singleStep}, and return {@link VcpuExit.DebugTrap}.
     * Empty and false turn debugging off. False when the accelerator cannot.
     */
    default boolean debug(long[] breakpoints, Watchpoint[] watchpoints, boolean singleStep) {
        return false;
    }

    /** A copy of the architectural state. */
    X86CpuState state();

    /** Replaces the architectural state. */
    void load(X86CpuState state);

    /** True when an interrupt the vCPU would take is pending (a halted vCPU then runs again). */
    boolean interruptPending();

    /** The vCPU's state for a snapshot; called on its own thread, or with the vCPU stopped. */
    @Override
    default VcpuState save() {
        return new VcpuState(VcpuState.VERSION, state());
    }

    @Override
    default void restore(VcpuState saved) {
        if (saved.version() != VcpuState.VERSION) {
            throw new IllegalArgumentException("unsupported VcpuState version " + saved.version());
        }
        load(saved.cpu());
    }
}
