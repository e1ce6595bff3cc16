package dev.hako.vmm.image.disk;

import static dev.hako.vmm.image.disk.Qcow2Format.*;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Reading qcow2's compressed clusters (qcow2.txt "Compressed Clusters Descriptor"): a cluster deflated with zlib
 * (raw deflate, no zlib header, as QEMU writes it) at an unaligned host offset, its length counted in 512-byte
 * sectors. The compressed input is at most two clusters and the output exactly one, both preallocated; the last
 * cluster inflated is kept, so reading one compressed cluster in small pieces inflates it once.
 */
final class CompressedClusters {
    private final ImageFile file;
    private final long clusterSize;
    private final int sizeShift;
    private final long sectorsMask;
    private final MemorySegment input;
    private final MemorySegment output;
    private final ByteBuffer inputBuffer;
    private final ByteBuffer outputBuffer;
    private final Inflater inflater = new Inflater(true);
    private long inflatedEntry;

    CompressedClusters(ImageFile file, Arena arena, int clusterBits) {
        this.file = file;
        this.clusterSize = 1L << clusterBits;
        this.sizeShift = 62 - (clusterBits - 8);
        this.sectorsMask = (1L << (clusterBits - 8)) - 1;
        this.input = arena.allocate(2 * clusterSize + 512 + 1, 8);
        this.output = arena.allocate(clusterSize, 8);
        this.inputBuffer = input.asByteBuffer();
        this.outputBuffer = output.asByteBuffer();
    }

    /** Where the compressed data of an L2 entry starts in the file. */
    long hostOffset(long entry) {
        return entry & ((1L << sizeShift) - 1);
    }

    /** The host range an entry's compressed data occupies, in whole sectors: what it holds references to. */
    long sectorsStart(long entry) {
        return hostOffset(entry) & ~((1L << SECTOR_BITS) - 1);
    }

    long sectorsLength(long entry) {
        return (((entry >>> sizeShift) & sectorsMask) + 1) << SECTOR_BITS;
    }

    /** The cluster an L2 entry describes, inflated; valid until the next call. */
    MemorySegment inflate(long entry) throws IOException {
        if (entry == inflatedEntry) {
            return output;
        }
        inflatedEntry = 0;
        long offset = hostOffset(entry);
        long length = sectorsStart(entry) + sectorsLength(entry) - offset;
        if (offset < clusterSize || offset >= file.length()) {
            throw Qcow2Header.corrupt(file, "compressed cluster at " + offset + " lies on the header or past the"
                    + " end of the file");
        }
        file.read(offset, input, 0, length);
        input.set(ValueLayout.JAVA_BYTE, length, (byte) 0);
        inflater.reset();
        inputBuffer.clear().limit((int) length + 1);
        outputBuffer.clear();
        inflater.setInput(inputBuffer);
        try {
            while (outputBuffer.hasRemaining()) {
                if (inflater.inflate(outputBuffer) == 0
                        && (inflater.finished() || inflater.needsInput() || inflater.needsDictionary())) {
                    break;
                }
            }
        } catch (DataFormatException e) {
            throw Qcow2Header.corrupt(file, "compressed cluster at " + offset + " does not inflate: "
                    + e.getMessage());
        }
        if (outputBuffer.hasRemaining()) {
            throw Qcow2Header.corrupt(file, "compressed cluster at " + offset + " inflates to "
                    + outputBuffer.position() + " bytes, not a whole cluster");
        }
        inflatedEntry = entry;
        return output;
    }

    void close() {
        inflater.end();
    }
}
