package dev.hako.vmm.image.disk;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Copies a whole disk into a new qcow2 image, as {@code qemu-img convert -O qcow2} does: the source is read in
 * large chunks, skipping what it knows to be holes ({@link DiskImage#nextData}), and only clusters with a nonzero
 * byte are written, in runs, so the image holds the data and nothing else. A failed conversion removes the
 * half-written image.
 */
final class Qcow2Converter {
    private static final long CHUNK = 4L << 20;

    private Qcow2Converter() {}

    static void convert(DiskImage source, Path target, int clusterBits) throws IOException {
        Qcow2Image image = Qcow2Image.create(target, source.size(), clusterBits);
        boolean done = false;
        try (image; Arena arena = Arena.ofConfined()) {
            long clusterSize = 1L << clusterBits;
            long chunk = Math.max(clusterSize, CHUNK);
            MemorySegment buffer = arena.allocate(chunk, 4096);
            long size = source.size();
            long offset = 0;
            while (offset < size) {
                offset = Math.max(offset, source.nextData(offset) & -clusterSize);
                if (offset >= size) {
                    break;
                }
                int n = (int) Math.min(chunk, size - offset);
                source.read(offset, buffer, 0, n);
                copyNonzeroClusters(image, offset, buffer, n, clusterSize);
                offset += n;
            }
            image.flush();
            done = true;
        } finally {
            if (!done) {
                Files.deleteIfExists(target);
            }
        }
    }

    private static void copyNonzeroClusters(Qcow2Image image, long offset, MemorySegment buffer, int length,
            long clusterSize) throws IOException {
        long runStart = -1;
        for (long at = 0; at < length; at += clusterSize) {
            boolean zero = Zeroes.isZero(buffer, at, Math.min(clusterSize, length - at));
            if (!zero && runStart < 0) {
                runStart = at;
            } else if (zero && runStart >= 0) {
                image.write(offset + runStart, buffer, runStart, (int) (at - runStart));
                runStart = -1;
            }
        }
        if (runStart >= 0) {
            image.write(offset + runStart, buffer, runStart, (int) (length - runStart));
        }
    }
}
