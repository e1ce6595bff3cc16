package dev.hako.devices.virtio;

import dev.hako.core.memory.GuestMemory;

/**
 * One descriptor chain popped from a {@link Virtqueue}, already validated: every segment lies in guest RAM,
 * device-readable segments come before device-writable ones, and the lengths add up without overflow. The
 * object is reused for every request of its queue, so walking a chain allocates nothing.
 *
 * <p>Byte offsets in {@link #readLe} and {@link #writeLe} count across the readable (respectively writable)
 * segments, so a structure split over descriptors is read the same as one in a single descriptor.
 */
public final class DescriptorChain {
    private final long[] addresses;
    private final int[] lengths;
    private final boolean[] writable;
    private int count;
    private int readableCount;
    private long readableBytes;
    private long writableBytes;
    private int head;

    DescriptorChain(int capacity) {
        addresses = new long[capacity];
        lengths = new int[capacity];
        writable = new boolean[capacity];
    }

    void reset(int head) {
        this.head = head;
        count = 0;
        readableCount = 0;
        readableBytes = 0;
        writableBytes = 0;
    }

    int capacity() {
        return addresses.length;
    }

    void add(long address, int length, boolean deviceWritable) {
        addresses[count] = address;
        lengths[count] = length;
        writable[count] = deviceWritable;
        count++;
        if (deviceWritable) {
            writableBytes += length & 0xFFFF_FFFFL;
        } else {
            readableCount++;
            readableBytes += length & 0xFFFF_FFFFL;
        }
    }

    /** The head descriptor's index: the id the used ring entry gives back. */
    public int head() {
        return head;
    }

    public int segments() {
        return count;
    }

    public long address(int segment) {
        return addresses[segment];
    }

    /** Segment length in bytes (descriptor lengths are 32-bit unsigned). */
    public long length(int segment) {
        return lengths[segment] & 0xFFFF_FFFFL;
    }

    public boolean isWritable(int segment) {
        return writable[segment];
    }

    /** The number of device-readable segments; they are segments {@code 0..readableSegments()-1}. */
    public int readableSegments() {
        return readableCount;
    }

    public long readableBytes() {
        return readableBytes;
    }

    public long writableBytes() {
        return writableBytes;
    }

    /**
     * Reads a little-endian value of {@code size} (1..8) bytes at {@code offset} into the readable bytes; the
     * caller checks that {@code offset + size <= readableBytes()}.
     */
    public long readLe(GuestMemory memory, long offset, int size) {
        long value = 0;
        for (int i = 0; i < size; i++) {
            value |= (long) memory.getU8(locate(offset + i, 0, readableCount)) << (8 * i);
        }
        return value;
    }

    /** Writes {@code size} bytes little-endian at {@code offset} into the writable bytes (checked by the caller). */
    public void writeLe(GuestMemory memory, long offset, int size, long value) {
        for (int i = 0; i < size; i++) {
            memory.setU8(locate(offset + i, readableCount, count), (int) (value >>> (8 * i)));
        }
    }

    /** The guest-physical address of byte {@code offset} of segments {@code from..to-1} together. */
    private long locate(long offset, int from, int to) {
        long left = offset;
        for (int s = from; s < to; s++) {
            long length = length(s);
            if (left < length) {
                return addresses[s] + left;
            }
            left -= length;
        }
        throw new IndexOutOfBoundsException("offset " + offset + " is past the chain's bytes");
    }
}
