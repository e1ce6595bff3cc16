package dev.hako.devices.pci;

import dev.hako.core.state.Snapshotable;

/**
 * The 256-byte configuration space of one PCI function (PCI Local Bus Specification 3.0 §6.1): the bytes and,
 * per bit, whether the guest may write it. Read-only bits (IDs, class, BAR type and size bits, capability
 * links) ignore guest writes, which is also what makes the BAR sizing protocol work: writing all ones reads
 * back the size mask. The device side sets any bit with the {@code set} methods.
 *
 * <p>Accesses are 1, 2 or 4 bytes; a 4-byte access may start at any offset (ECAM), bytes past 0xFF read as
 * zero and ignore writes (no extended capabilities). Not thread-safe: the {@link PciRoot} serialises accesses.
 */
public final class PciConfigSpace implements Snapshotable<PciConfigSpaceState> {
    public static final int SIZE = 256;

    private final byte[] bytes = new byte[SIZE];
    private final byte[] writable = new byte[SIZE];
    private int lastCapability;
    private int nextCapability = PciHeader.FIRST_CAPABILITY;

    /**
     * A type 0 header with the given identity; {@code interruptPin} 0 means no INTx, 1..4 INTA#..INTD#.
     * Command bits I/O, memory, bus master, SERR and INTx disable and the interrupt line are writable.
     */
    public PciConfigSpace(int vendorId, int deviceId, int classCode, int revision, int subsystemVendorId,
                          int subsystemId, int interruptPin) {
        set16(PciHeader.VENDOR_ID, vendorId);
        set16(PciHeader.DEVICE_ID, deviceId);
        set8(PciHeader.REVISION_ID, revision);
        set8(PciHeader.CLASS_PROG, classCode);
        set16(PciHeader.CLASS_DEVICE, classCode >>> 8);
        set16(PciHeader.SUBSYSTEM_VENDOR_ID, subsystemVendorId);
        set16(PciHeader.SUBSYSTEM_ID, subsystemId);
        set8(PciHeader.INTERRUPT_PIN, interruptPin);
        writable(PciHeader.COMMAND, 2, PciHeader.COMMAND_IO | PciHeader.COMMAND_MEMORY | PciHeader.COMMAND_MASTER
                | PciHeader.COMMAND_SERR | PciHeader.COMMAND_INTX_DISABLE);
        writable(PciHeader.INTERRUPT_LINE, 1, 0xFF);
    }

    /** Reads {@code size} bytes little-endian at {@code offset}; bytes past the space read as zero. */
    public int read(int offset, int size) {
        int value = 0;
        for (int i = 0; i < size; i++) {
            int at = offset + i;
            if (at >= 0 && at < SIZE) {
                value |= (bytes[at] & 0xFF) << (8 * i);
            }
        }
        return value;
    }

    /** A guest write: only the writable bits of each byte change. */
    public void write(int offset, int size, int value) {
        for (int i = 0; i < size; i++) {
            int at = offset + i;
            if (at >= 0 && at < SIZE) {
                int mask = writable[at];
                bytes[at] = (byte) ((bytes[at] & ~mask) | ((value >>> (8 * i)) & mask));
            }
        }
    }

    public int u8(int offset) {
        return bytes[offset] & 0xFF;
    }

    public int u16(int offset) {
        return read(offset, 2);
    }

    public int u32(int offset) {
        return read(offset, 4);
    }

    public void set8(int offset, int value) {
        bytes[offset] = (byte) value;
    }

    public void set16(int offset, int value) {
        set8(offset, value);
        set8(offset + 1, value >>> 8);
    }

    public void set32(int offset, int value) {
        set16(offset, value);
        set16(offset + 2, value >>> 16);
    }

    /** Makes the bits of {@code mask} in {@code [offset, offset+size)} writable by the guest (and the rest not). */
    public void writable(int offset, int size, int mask) {
        for (int i = 0; i < size; i++) {
            writable[offset + i] = (byte) (mask >>> (8 * i));
        }
    }

    /**
     * Appends a capability of {@code length} bytes (ID and next pointer included) to the list and returns its
     * offset; its body starts zeroed and read-only.
     */
    public int addCapability(int id, int length) {
        int offset = nextCapability;
        if (length < 2 || offset + length > SIZE) {
            throw new IllegalArgumentException("capability of " + length + " bytes does not fit at " + offset);
        }
        set8(offset, id);
        set8(offset + 1, 0);
        if (lastCapability == 0) {
            set8(PciHeader.CAPABILITIES_POINTER, offset);
            set16(PciHeader.STATUS, u16(PciHeader.STATUS) | PciHeader.STATUS_CAPABILITIES);
        } else {
            set8(lastCapability + 1, offset);
        }
        lastCapability = offset;
        nextCapability = (offset + length + 3) & ~3;
        return offset;
    }

    /** Declares BAR {@code index}: its type bits, and writable address bits above its size. */
    void declareBar(int index, PciBar bar) {
        int offset = PciHeader.bar(index);
        set32(offset, bar.typeBits());
        long addressMask = ~(bar.size() - 1) & (bar.kind() == PciBar.Kind.IO ? ~0x3L : ~0xFL);
        writable(offset, 4, (int) addressMask);
        if (bar.kind() == PciBar.Kind.MEMORY_64) {
            set32(offset + 4, 0);
            writable(offset + 4, 4, (int) (addressMask >>> 32));
        }
    }

    /** The address BAR {@code index} holds now (both halves of a 64-bit BAR), without the type bits. */
    long barAddress(int index, PciBar bar) {
        int offset = PciHeader.bar(index);
        long low = u32(offset) & 0xFFFF_FFFFL;
        return switch (bar.kind()) {
            case IO -> low & ~0x3L;
            case MEMORY_32 -> low & ~0xFL;
            case MEMORY_64 -> ((long) u32(offset + 4) << 32 | low) & ~0xFL;
        };
    }

    /** Places BAR {@code index} at {@code address}, as firmware does before the OS runs. */
    void placeBar(int index, PciBar bar, long address) {
        int offset = PciHeader.bar(index);
        set32(offset, (int) address | bar.typeBits());
        if (bar.kind() == PciBar.Kind.MEMORY_64) {
            set32(offset + 4, (int) (address >>> 32));
        }
    }

    @Override
    public PciConfigSpaceState save() {
        return new PciConfigSpaceState(PciConfigSpaceState.VERSION, bytes.clone());
    }

    @Override
    public void restore(PciConfigSpaceState state) {
        state.checkVersion();
        if (state.bytes().length != SIZE) {
            throw new IllegalArgumentException("configuration space of " + state.bytes().length + " bytes");
        }
        System.arraycopy(state.bytes(), 0, bytes, 0, SIZE);
    }
}
