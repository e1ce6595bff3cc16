package dev.hako.devices.legacy;

import dev.hako.core.state.RecordValues;

/**
 * Snapshot of {@link AcpiPm}: PM1 status/enable/control, the PM timer tick at which TMR_STS was last
 * cleared, and the GPE0 status and enable bytes.
 */
public record AcpiPmState(int version, int status, int enable, int control, long timerStatusClearedAt,
        byte[] gpeStatus, byte[] gpeEnable) {
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
