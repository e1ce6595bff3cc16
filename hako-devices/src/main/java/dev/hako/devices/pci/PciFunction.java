package dev.hako.devices.pci;

import dev.hako.core.irq.IrqLine;

/**
 * A PCI function as the {@link PciRoot} sees it: a configuration space, up to six BARs and an INTx wire. The
 * root owns the address decoding (config mechanism #1, ECAM, BAR placement on the buses); the function owns
 * the meaning of its registers.
 */
public interface PciFunction {
    PciConfigSpace config();

    /** BAR {@code index} (0..5), or null when unused or the upper half of a 64-bit BAR. */
    PciBar bar(int index);

    /** The guest is about to read configuration bytes {@code [offset, offset+size)}: a window register fills in. */
    default void configReading(int offset, int size) {
    }

    /** The guest wrote configuration bytes {@code [offset, offset+size)}; called after the write took effect. */
    default void configWritten(int offset, int size) {
    }

    /** The root routed this function's interrupt pin to {@code line} (called once, when attached). */
    default void connectIntx(IrqLine line) {
    }
}
