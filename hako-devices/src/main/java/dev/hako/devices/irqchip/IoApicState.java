package dev.hako.devices.irqchip;

import dev.hako.core.state.RecordValues;

/** Snapshot of the {@link IoApic}: the selected register, ID, pending pins, wire levels and 24 redirection entries. */
public record IoApicState(int version, int ioRegisterSelect, int id, int irr, int inputLevels, long[] redirection) {
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
