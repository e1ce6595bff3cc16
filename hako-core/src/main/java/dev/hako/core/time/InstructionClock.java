package dev.hako.core.time;

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
public final class InstructionClock extends PausableClock {
    /** Guest nanoseconds per retired instruction by default: about what a 1 GHz CPU at one instruction a cycle does. */
    public static final long DEFAULT_NANOS_PER_INSTRUCTION = 1;

    private final long nanosPerInstruction;
    private final TimerQueue timers;
    private volatile LongSupplier retired = () -> 0;
    /** Guest time = retired × rate + offset; the offset grows when a halted vCPU skips time, or by a restore. */
    private volatile long offset;

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
        if (next > now && !isPaused()) {
            offset += next - now;
        }
        timers.runDue();
        return true;
    }

    @Override
    long runningNanos() {
        return retired.getAsLong() * nanosPerInstruction + offset;
    }

    @Override
    void runFrom(long nanos) {
        offset = nanos - retired.getAsLong() * nanosPerInstruction;
    }
}
