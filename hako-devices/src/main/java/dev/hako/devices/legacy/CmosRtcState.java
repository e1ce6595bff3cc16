package dev.hako.devices.legacy;

import dev.hako.core.state.RecordValues;

/**
 * Snapshot of the {@link CmosRtc}: the 128 bytes of CMOS (time registers as last stored), the index port,
 * and the wall clock as an offset from guest time ({@code wallNanos = guest nanos + wallOffsetNanos}).
 */
public record CmosRtcState(int version, byte[] cmos, int index, boolean nmiDisabled, long wallOffsetNanos) {
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
