package dev.hako.devices.legacy;

import dev.hako.core.state.RecordValues;

/** Snapshot of the {@link Pit8254}: three counters and the port 0x61 bits it owns. */
public record Pit8254State(int version, Channel[] channels, int portB) {
    public static final int VERSION = 1;

    @Override
    public boolean equals(Object other) {
        return RecordValues.equals(this, other);
    }

    @Override
    public int hashCode() {
        return RecordValues.hashCode(this);
    }

    /**
     * One counter. {@code loadNanos} is the guest time its count was loaded (counting starts there);
     * {@code counting} is false between a control word and the count that follows it.
     */
    public record Channel(int count, long loadNanos, boolean counting, int mode, boolean bcd, int accessMode,
            int readState, int writeState, int writeLatch, int latchedState, int latchedCount, boolean statusLatched,
            int status, boolean gate) {
    }
}
