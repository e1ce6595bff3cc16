package dev.hako.devices.pci;

import dev.hako.core.bus.MmioDevice;
import dev.hako.core.bus.PioDevice;

/**
 * One base address register as a function declares it: its kind, its size (a power of two) and the device
 * that serves accesses once the guest (or the machine, as firmware) has placed it and enabled decoding. A
 * 64-bit memory BAR takes two register slots.
 */
public record PciBar(Kind kind, long size, boolean prefetchable, MmioDevice memory, PioDevice io) {
    public enum Kind { IO, MEMORY_32, MEMORY_64 }

    public PciBar {
        long minimum = kind == Kind.IO ? 4 : 16;
        long maximum = kind == Kind.IO ? 256 : kind == Kind.MEMORY_32 ? 1L << 30 : 1L << 40;
        if (Long.bitCount(size) != 1 || size < minimum || size > maximum) {
            throw new IllegalArgumentException(kind + " BAR size " + size + " is not a power of two in "
                    + minimum + ".." + maximum);
        }
        if ((kind == Kind.IO) != (io != null) || (kind == Kind.IO) == (memory != null)) {
            throw new IllegalArgumentException(kind + " BAR needs exactly its kind of device");
        }
    }

    public static PciBar memory64(long size, MmioDevice device) {
        return new PciBar(Kind.MEMORY_64, size, false, device, null);
    }

    public static PciBar memory32(long size, MmioDevice device) {
        return new PciBar(Kind.MEMORY_32, size, false, device, null);
    }

    public static PciBar io(long size, PioDevice device) {
        return new PciBar(Kind.IO, size, false, null, device);
    }

    public boolean isMemory() {
        return kind != Kind.IO;
    }

    /** The type bits in the BAR register's low nibble. */
    int typeBits() {
        return switch (kind) {
            case IO -> PciHeader.BAR_IO;
            case MEMORY_32 -> prefetchable ? PciHeader.BAR_PREFETCHABLE : 0;
            case MEMORY_64 -> PciHeader.BAR_MEMORY_64 | (prefetchable ? PciHeader.BAR_PREFETCHABLE : 0);
        };
    }
}
