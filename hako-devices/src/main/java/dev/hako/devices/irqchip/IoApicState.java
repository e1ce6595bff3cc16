package dev.hako.devices.irqchip;

/** Snapshot of the {@link IoApic}: the selected register, ID, pin input levels and 24 redirection entries. */
public record IoApicState(int version, int ioRegisterSelect, int id, int irr, long[] redirection) {
    public static final int VERSION = 1;
}
