package dev.hako.devices.irqchip;

import dev.hako.core.state.RecordValues;

/** Snapshot of a {@link UserspaceIrqChip}: the 8259 pair, the I/O APIC and each vCPU's local APIC. */
public record UserspaceIrqChipState(int version, Pic8259State pic, IoApicState ioApic, LocalApicState[] localApics) {
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
