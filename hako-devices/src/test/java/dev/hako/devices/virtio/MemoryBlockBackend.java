package dev.hako.devices.virtio;

import dev.hako.devices.backend.BlockBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** A disk in memory, for tests that must see what the device allocates (copies allocate nothing). */
public final class MemoryBlockBackend implements BlockBackend {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment disk;
    private final MemorySegment zeroes;
    private final boolean readOnly;
    public long requests;
    /** Writes the device sent to a read-only backend: a device bug, counted rather than thrown. */
    public long readOnlyViolations;

    public MemoryBlockBackend(long size, boolean readOnly) {
        this.disk = arena.allocate(size, 512);
        this.zeroes = arena.allocate(size, 512);
        this.readOnly = readOnly;
    }

    @Override
    public long size() {
        return disk.byteSize();
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    @Override
    public void read(long offset, MemorySegment memory, long memoryOffset, int length) {
        requests++;
        MemorySegment.copy(disk, offset, memory, memoryOffset, length);
    }

    @Override
    public void write(long offset, MemorySegment memory, long memoryOffset, int length) {
        if (readOnly) {
            readOnlyViolations++;
            return;
        }
        requests++;
        MemorySegment.copy(memory, memoryOffset, disk, offset, length);
    }

    @Override
    public void flush() {
        requests++;
    }

    @Override
    public void discard(long offset, long length) {
        writeZeroes(offset, length, true);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean unmap) {
        if (readOnly) {
            readOnlyViolations++;
            return;
        }
        requests++;
        MemorySegment.copy(zeroes, 0, disk, offset, length);
    }

    @Override
    public void close() {
        arena.close();
    }
}
