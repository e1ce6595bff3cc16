package dev.hako.core.memory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Guest RAM: one off-heap {@link MemorySegment} shared by the accelerators and the devices. The owner
 * decides where the segment comes from (a lazily committed host mapping in practice), so this class only
 * bounds-checks and copies.
 */
public final class GuestMemory {
    private final MemorySegment ram;

    public GuestMemory(MemorySegment ram) {
        this.ram = ram;
    }

    public MemorySegment segment() {
        return ram;
    }

    public long size() {
        return ram.byteSize();
    }

    /** True when {@code [gpa, gpa+size)} lies inside RAM. */
    public boolean contains(long gpa, long size) {
        return gpa >= 0 && size >= 0 && gpa <= ram.byteSize() - size;
    }

    public void write(long gpa, byte[] bytes, int from, int length) {
        checkRange(gpa, length);
        MemorySegment.copy(bytes, from, ram, ValueLayout.JAVA_BYTE, gpa, length);
    }

    public void read(long gpa, byte[] bytes, int from, int length) {
        checkRange(gpa, length);
        MemorySegment.copy(ram, ValueLayout.JAVA_BYTE, gpa, bytes, from, length);
    }

    public void fill(long gpa, long size, byte value) {
        checkRange(gpa, size);
        ram.asSlice(gpa, size).fill(value);
    }

    private void checkRange(long gpa, long size) {
        if (!contains(gpa, size)) {
            throw new IndexOutOfBoundsException(String.format(
                    "guest range [%#x, +%#x) is outside RAM of %#x bytes", gpa, size, ram.byteSize()));
        }
    }
}
