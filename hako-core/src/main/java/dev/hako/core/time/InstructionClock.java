package dev.hako.core.time;

import dev.hako.core.state.Snapshotable;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;

/**
 * Guest time counted in retired instructions, for deterministic execution: {@code nanos = retired ×
 * nanosPerInstruction + skipped}, where {@code skipped} is the time a halted vCPU jumped over to its next timer
 * (a guest that waits costs no host time and no instructions). Nothing here reads the host's clock, so a guest
 * that runs the same instructions sees the same time, and its timers fire at the same instruction.
 *
 * <p>Its {@link #timers} are not driven by a host thread: the vCPU compares its retired count with
 * {@link #deadlineInstructions} where it may take an interrupt (the soft CPU between blocks and on a translated
 * trace's loop-back) and calls {@link #runDue} there; a halted vCPU calls {@link #skipToNextDeadline}. A timer
 * armed earlier than the vCPU's deadline is told to the {@link #onEarlierDeadline} listener, in instructions.
 *
 * <p>One vCPU only: the count is that vCPU's. Its state is the guest time, as {@link NanoTimeClock}'s.
 */
public final class InstructionClock implements VirtualClock, Snapshotable<ClockState> {
    /** Guest nanoseconds per retired instruction by default: about what a 1 GHz CPU at one instruction a cycle does. */
    public static final long DEFAULT_NANOS_PER_INSTRUCTION = 1;

    private final long nanosPerInstruction;
    private final TimerQueue timers;
    private volatile LongSupplier retired = () -> 0;
    /** Guest time = retired × rate + offset; the offset grows when a halted vCPU skips time, or by a restore. */
    private volatile long offset;
    private volatile long frozenAt = -1;

    public InstructionClock(long nanosPerInstruction) {
        if (nanosPerInstruction < 1) {
            throw new IllegalArgumentException("nanoseconds per instruction " + nanosPerInstruction + " is below 1");
        }
        this.nanosPerInstruction = nanosPerInstruction;
        this.timers = new TimerQueue(this);
    }

    public InstructionClock() {
        this(DEFAULT_NANOS_PER_INSTRUCTION);
    }

    /** The machine's timer queue, whose deadlines are this clock's time. */
    public TimerQueue timers() {
        return timers;
    }

    /** The vCPU whose retired instructions make the time; read on any thread, so it must not allocate. */
    public void countFrom(LongSupplier retiredInstructions) {
        long now = nanos();
        retired = retiredInstructions;
        offset = now - retiredInstructions.getAsLong() * nanosPerInstruction;
    }

    /**
     * Tells {@code listener} (on the arming thread, under the queue's lock: it must only store the value) the
     * retired count at which a timer armed before every other one is due.
     */
    public void onEarlierDeadline(LongConsumer listener) {
        timers.onEarliestDeadline(deadline -> listener.accept(instructionsAt(deadline)));
    }

    @Override
    public long nanos() {
        long frozen = frozenAt;
        return frozen >= 0 ? frozen : retired.getAsLong() * nanosPerInstruction + offset;
    }

    /** The retired count at which guest time reaches {@code nanos} (now or past: the count now). */
    public long instructionsAt(long nanos) {
        if (nanos == Long.MAX_VALUE) {
            return Long.MAX_VALUE;
        }
        long count = retired.getAsLong();
        long ahead = nanos - (count * nanosPerInstruction + offset);
        return ahead <= 0 ? count : count + (ahead + nanosPerInstruction - 1) / nanosPerInstruction;
    }

    /** The retired count at which the next timer is due; {@link Long#MAX_VALUE} when none is armed. */
    public long deadlineInstructions() {
        return instructionsAt(timers.nextDeadline());
    }

    /** Runs the timers due now (on the vCPU's thread); returns {@link #deadlineInstructions} after them. */
    public long runDue() {
        timers.runDue();
        return deadlineInstructions();
    }

    /**
     * A halted vCPU's wait: guest time jumps to the next deadline and the timers due then run. False when no
     * timer is armed (only the host can wake the guest then).
     */
    public boolean skipToNextDeadline() {
        long next = timers.nextDeadline();
        if (next == Long.MAX_VALUE) {
            return false;
        }
        long now = nanos();
        if (next > now && frozenAt < 0) {
            offset += next - now;
        }
        timers.runDue();
        return true;
    }

    @Override
    public synchronized void pause() {
        if (frozenAt < 0) {
            frozenAt = nanos();
        }
    }

    @Override
    public synchronized void resume() {
        if (frozenAt >= 0) {
            offset = frozenAt - retired.getAsLong() * nanosPerInstruction;
            frozenAt = -1;
        }
    }

    @Override
    public boolean isPaused() {
        return frozenAt >= 0;
    }

    @Override
    public ClockState save() {
        return new ClockState(ClockState.VERSION, nanos());
    }

    /** Sets the guest time of a paused clock, as {@link NanoTimeClock#restore} does. */
    @Override
    public synchronized void restore(ClockState state) {
        if (state.version() != ClockState.VERSION) {
            throw new IllegalArgumentException("unsupported ClockState version " + state.version());
        }
        if (state.nanos() < 0) {
            throw new IllegalArgumentException("guest time " + state.nanos() + " is negative");
        }
        if (frozenAt < 0) {
            throw new IllegalStateException("the clock runs: restore it while the machine is paused");
        }
        frozenAt = state.nanos();
    }
}
