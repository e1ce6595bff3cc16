package dev.hako.devices.irqchip;

/** Snapshot of the {@link IoApic}: the selected register, ID, pending pins, wire levels and 24 redirection entries. */
public record IoApicState(int version, int ioRegisterSelect, int id, int irr, int inputLevels, long[] redirection) {
    public static final int VERSION = 1;
}
