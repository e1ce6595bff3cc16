package dev.hako.devices.irqchip;

import dev.hako.core.state.RecordValues;

/**
 * Snapshot of one {@link LocalApic}. The 256-bit ISR/TMR/IRR are eight 32-bit words each, as in the
 * register file. {@code timerDeadlineNanos} is the armed timer's guest-time deadline, or -1.
 */
public record LocalApicState(int version, long apicBase, int id, int tpr, int ldr, int dfr, int svr, int[] isr,
        int[] tmr, int[] irr, int esr, int pendingEsr, int icrLow, int icrHigh, int[] lvt, int initialCount,
        int divideConfig, long timerStartNanos, long timerDeadlineNanos, long tscDeadline, boolean nmiPending,
        boolean initPending, int sipiVector) {
    public static final int VERSION = 1;

    @Override
    public boolean equals(Object other) {
        return RecordValues.equals(this, other);
    }

    @Override
    public int hashCode() {
        return RecordValues.hashCode(this);
    }
}
