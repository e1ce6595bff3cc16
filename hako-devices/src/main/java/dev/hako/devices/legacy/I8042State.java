package dev.hako.devices.legacy;

import dev.hako.core.state.RecordValues;

/**
 * Snapshot of the {@link I8042}: controller RAM (byte 0 is the command byte), output port, the byte the
 * guest must still send for a pending command, and the queued output bytes (each with flag bits 8 = from
 * the aux port, 9 = timeout).
 */
public record I8042State(int version, byte[] ram, int outputPort, boolean systemFlag, boolean lastWriteWasCommand,
        int pendingCommand, int lastData, int[] output) {
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
