package dev.hako.devices.irqchip;

/** Snapshot of the {@link Pic8259} pair: both chips and the edge/level control registers. */
public record Pic8259State(int version, Chip master, Chip slave) {
    public static final int VERSION = 1;

    /** One 8259A: its registers, the edge detector's last input levels and where it is in the ICW sequence. */
    public record Chip(int lastInputs, int irr, int imr, int isr, int priorityAdd, int vectorBase, boolean readIsr,
            boolean poll, boolean specialMask, int initStep, boolean autoEoi, boolean rotateOnAutoEoi,
            boolean specialFullyNested, boolean expectIcw4, boolean single, int elcr) {
    }
}
