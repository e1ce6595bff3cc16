package dev.hako.devices.legacy;

import dev.hako.core.state.RecordValues;

/**
 * Snapshot of a {@link Uart16550}: its registers and the received bytes still in the FIFO (oldest first).
 * The transmitter has no state: bytes leave the moment the guest writes them.
 */
public record Uart16550State(int version, int divisor, int ier, int lcr, int mcr, int lineErrors, int modemDeltas,
        int scratch, int fcr, boolean thrInterrupt, byte[] received) {
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
