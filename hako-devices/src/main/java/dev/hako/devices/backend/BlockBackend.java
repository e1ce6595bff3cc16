package dev.hako.devices.backend;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * The host side of a block device: a disk image (raw, qcow2, an overlay over a backing file) as a flat array of
 * bytes. The block device front end (virtio-blk) checks every request against {@link #size()} and
 * {@link #readOnly()} before it calls in, so a backend sees only in-range requests; it still never trusts them
 * for its own metadata. Data moves straight between the image and guest RAM: {@code memory} is the guest RAM
 * segment and {@code memoryOffset} a guest-physical address already checked to lie inside it, so a request
 * allocates nothing on the Java heap.
 *
 * <p>Durability: {@link #write} may stay in host caches until {@link #flush}, which returns only once every
 * completed write (data and the image's own metadata) is on stable storage.
 */
public interface BlockBackend extends AutoCloseable {
    /** The virtual disk's size in bytes (a multiple of 512). */
    long size();

    boolean readOnly();

    /** Reads {@code length} bytes at disk offset {@code offset} into {@code memory[memoryOffset...]}. */
    void read(long offset, MemorySegment memory, long memoryOffset, int length) throws IOException;

    /** Writes {@code length} bytes from {@code memory[memoryOffset...]} at disk offset {@code offset}. */
    void write(long offset, MemorySegment memory, long memoryOffset, int length) throws IOException;

    /** Every completed write reaches stable storage (fdatasync of the image and of what it depends on). */
    void flush() throws IOException;

    /** The range's contents become unspecified and its host space may be released. */
    void discard(long offset, long length) throws IOException;

    /** The range reads as zeroes afterwards; with {@code unmap} its host space may be released as well. */
    void writeZeroes(long offset, long length, boolean unmap) throws IOException;

    @Override
    void close() throws IOException;
}
