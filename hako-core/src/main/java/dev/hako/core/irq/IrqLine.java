package dev.hako.core.irq;

/**
 * One interrupt wire from a device to the interrupt controllers, in asserted/deasserted terms (the board's
 * polarity inversions are the wiring's business, not the device's). Level-triggered devices hold the line
 * with {@link #set}; edge-triggered ones {@link #pulse} it. Must not allocate.
 */
public interface IrqLine {
    /** A line connected to nothing. */
    IrqLine NONE = level -> {
    };

    void set(boolean level);

    /** A rising then a falling edge: what an edge-triggered source such as the PIT's OUT0 produces. */
    default void pulse() {
        set(true);
        set(false);
    }
}
