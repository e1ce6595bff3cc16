package dev.hako.core.memory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Guest RAM: one off-heap {@link MemorySegment} shared by the accelerators and the devices. The owner
 * decides where the segment comes from (a lazily committed host mapping in practice), so this class only
 * bounds-checks and copies.
 *
 * <p>Device DMA: a device checks a guest-supplied range with {@link #contains} (an address outside RAM is the
 * guest's error, which the device reports in its own terms) and then uses the little-endian accessors, which
 * allocate nothing. They still throw {@link IndexOutOfBoundsException} for a range outside RAM, which is a bug
 * in the device, not in the guest. The acquire and release variants need a naturally aligned address; they
 * give a device the ordering the other side (a vCPU) expects, e.g. virtio's avail index read before the ring
 * entries it publishes, and the used ring entries written before the used index.
 *
 * <p>Every store through this class marks its page in the {@link DirtyPages} log while a migration logs; a device
 * that writes {@link #segment()} directly (a disk read, a received frame) calls {@link #written} after it.
 */
public final class GuestMemory {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle U16_ORDERED =
            ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle U32_ORDERED = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle U64_ORDERED =
            ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private final MemorySegment ram;
    private final DirtyPages dirty;

    public GuestMemory(MemorySegment ram) {
        this.ram = ram;
        this.dirty = new DirtyPages(ram.byteSize());
    }

    /** The dirty log of this RAM (for live migration). */
    public DirtyPages dirtyPages() {
        return dirty;
    }

    /** A device wrote {@code [gpa, gpa+length)} through {@link #segment()}: the pages are dirty for a migration. */
    public void written(long gpa, long length) {
        dirty.mark(gpa, length);
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
        dirty.mark(gpa, length);
    }

    public void read(long gpa, byte[] bytes, int from, int length) {
        checkRange(gpa, length);
        MemorySegment.copy(ram, ValueLayout.JAVA_BYTE, gpa, bytes, from, length);
    }

    public void fill(long gpa, long size, byte value) {
        checkRange(gpa, size);
        ram.asSlice(gpa, size).fill(value);
        dirty.mark(gpa, size);
    }

    public int getU8(long gpa) {
        return ram.get(ValueLayout.JAVA_BYTE, gpa) & 0xFF;
    }

    public int getU16(long gpa) {
        return ram.get(U16, gpa) & 0xFFFF;
    }

    public long getU32(long gpa) {
        return ram.get(U32, gpa) & 0xFFFF_FFFFL;
    }

    public long getU64(long gpa) {
        return ram.get(U64, gpa);
    }

    public void setU8(long gpa, int value) {
        ram.set(ValueLayout.JAVA_BYTE, gpa, (byte) value);
        dirty.mark(gpa);
    }

    public void setU16(long gpa, int value) {
        ram.set(U16, gpa, (short) value);
        dirty.mark(gpa, 2);
    }

    public void setU32(long gpa, long value) {
        ram.set(U32, gpa, (int) value);
        dirty.mark(gpa, 4);
    }

    public void setU64(long gpa, long value) {
        ram.set(U64, gpa, value);
        dirty.mark(gpa, 8);
    }

    /** A 16-bit load that later loads cannot pass; {@code gpa} must be even. */
    public int getU16Acquire(long gpa) {
        return (short) U16_ORDERED.getAcquire(ram, gpa) & 0xFFFF;
    }

    /** A 16-bit store that earlier stores cannot pass; {@code gpa} must be even. */
    public void setU16Release(long gpa, int value) {
        U16_ORDERED.setRelease(ram, gpa, (short) value);
        dirty.mark(gpa);
    }

    /** A full fence: stores before it are visible before loads after it (virtio's event index check). */
    public static void storeLoadFence() {
        VarHandle.fullFence();
    }

    /** A 32-bit load that later loads cannot pass; {@code gpa} must be a multiple of 4. */
    public long getU32Acquire(long gpa) {
        return (int) U32_ORDERED.getAcquire(ram, gpa) & 0xFFFF_FFFFL;
    }

    /** A 32-bit store that earlier stores cannot pass; {@code gpa} must be a multiple of 4. */
    public void setU32Release(long gpa, long value) {
        U32_ORDERED.setRelease(ram, gpa, (int) value);
        dirty.mark(gpa);
    }

    /** A 64-bit load that later loads cannot pass; {@code gpa} must be a multiple of 8. */
    public long getU64Acquire(long gpa) {
        return (long) U64_ORDERED.getAcquire(ram, gpa);
    }

    /** A 64-bit store that earlier stores cannot pass; {@code gpa} must be a multiple of 8. */
    public void setU64Release(long gpa, long value) {
        U64_ORDERED.setRelease(ram, gpa, value);
        dirty.mark(gpa);
    }

    private void checkRange(long gpa, long size) {
        if (!contains(gpa, size)) {
            throw new IndexOutOfBoundsException(String.format(
                    "guest range [%#x, +%#x) is outside RAM of %#x bytes", gpa, size, ram.byteSize()));
        }
    }
}
