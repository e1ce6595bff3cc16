package dev.hako.vmm.image.disk;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One read-only block of native zeroes, as large as the largest qcow2 cluster: the source for zero-filling reads
 * and writing zeroes, without allocating per request. Nothing may ever write into it.
 */
final class Zeroes {
    static final MemorySegment BLOCK = Arena.global().allocate(1L << Qcow2Format.MAX_CLUSTER_BITS, 4096);

    private Zeroes() {}

    /** Sets {@code memory[offset, offset + length)} to zero. */
    static void fill(MemorySegment memory, long offset, long length) {
        while (length > 0) {
            long n = Math.min(length, BLOCK.byteSize());
            MemorySegment.copy(BLOCK, 0, memory, offset, n);
            offset += n;
            length -= n;
        }
    }

    /** Whether {@code memory[offset, offset + length)} is all zero; {@code length} is at most the block's size. */
    static boolean isZero(MemorySegment memory, long offset, long length) {
        return MemorySegment.mismatch(memory, offset, offset + length, BLOCK, 0, length) < 0;
    }
}
