package dev.hako.vmm.image.disk;

import static dev.hako.vmm.image.disk.Qcow2Format.*;

import dev.hako.sys.HostFile;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes a new, empty version 3 qcow2 image, laid out as {@code qemu-img create} lays one out: the header (with
 * the backing file's format as a header extension and its name after the extensions), the refcount table, the
 * refcount blocks counting every cluster so far, and an all-zero L1 table large enough for the virtual size.
 * Refcounts are 16 bits wide; lazy refcounts are off.
 */
final class Qcow2Formatter {
    private static final int REFCOUNT_ORDER = 4;

    private Qcow2Formatter() {}

    static Qcow2Image create(Path path, long virtualSize, int clusterBits, String backingFile,
            DiskFormat backingFormat) throws IOException {
        checkClusterBits(path, clusterBits);
        long size = virtualSize;
        DiskFormat format = backingFormat;
        if (backingFile != null) {
            checkBackingName(path, backingFile);
            try (DiskImage base = DiskImages.open(DiskImages.backingPath(path, backingFile), backingFormat, true)) {
                format = base.format();
                if (size <= 0) {
                    size = base.size();
                }
            }
        }
        HostFile file = HostFile.create(path);
        try {
            ImageLock.acquire(file, true);
            file.truncate(0);
            format(file, path, size, clusterBits, backingFile, format);
            return Qcow2Image.open(path, file, false, List.of());
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /**
     * Writes a new overlay over {@code backingFile} of {@code backingFormat} and {@code virtualSize} into the empty,
     * locked {@code file} (named {@code path}) and syncs it, without opening the backing file: a running machine
     * holds that one's writer lock until the overlay takes over.
     */
    static void writeOverlay(HostFile file, Path path, long virtualSize, int clusterBits, String backingFile,
            DiskFormat backingFormat) throws IOException {
        checkClusterBits(path, clusterBits);
        checkBackingName(path, backingFile);
        format(file, path, virtualSize, clusterBits, backingFile, backingFormat);
    }

    private static void checkClusterBits(Path path, int clusterBits) throws IOException {
        if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
            throw new IOException(path + ": a qcow2 cluster size must be 512 bytes to 2 MiB (cluster bits "
                    + MIN_CLUSTER_BITS + ".." + MAX_CLUSTER_BITS + "), not 2^" + clusterBits);
        }
    }

    private static void checkBackingName(Path path, String backingFile) throws IOException {
        byte[] name = backingFile.getBytes(StandardCharsets.UTF_8);
        if (name.length == 0 || name.length > MAX_BACKING_FILE_NAME) {
            throw new IOException(path + ": a backing file name must have 1 to " + MAX_BACKING_FILE_NAME
                    + " bytes");
        }
    }

    private static void format(HostFile file, Path path, long virtualSize, int clusterBits, String backingFile,
            DiskFormat backingFormat) throws IOException {
        if (virtualSize <= 0 || virtualSize > Long.MAX_VALUE - 511) {
            throw new IOException(path + ": the virtual size must be positive, not " + virtualSize);
        }
        long size = (virtualSize + 511) & ~511L;
        long l1Entries = tablesFor(size, clusterBits);
        if (l1Entries * 8 > MAX_L1_BYTES) {
            throw new IOException(path + ": a virtual size of " + size + " bytes needs an L1 table beyond QEMU's"
                    + " 32 MiB limit; use larger clusters");
        }
        write(file, size, clusterBits, l1Entries, backingFile, backingFormat);
        file.syncData();
    }

    /** L2 tables needed to map {@code size} bytes. */
    private static long tablesFor(long size, int clusterBits) {
        long clusters = (size + (1L << clusterBits) - 1) >>> clusterBits;
        int l2Bits = clusterBits - 3;
        return (clusters + (1L << l2Bits) - 1) >>> l2Bits;
    }

    private static void write(HostFile file, long size, int clusterBits, long l1Entries, String backingFile,
            DiskFormat backingFormat) throws IOException {
        long clusterSize = 1L << clusterBits;
        long perBlock = clusterSize * 8 / (1 << REFCOUNT_ORDER);
        long l1Clusters = (l1Entries * 8 + clusterSize - 1) / clusterSize;
        long tableClusters = 1;
        long blocks = 1;
        while (true) {
            long total = 1 + tableClusters + blocks + l1Clusters;
            long neededBlocks = (total + perBlock - 1) / perBlock;
            long neededTable = (neededBlocks * 8 + clusterSize - 1) / clusterSize;
            if (neededBlocks == blocks && neededTable == tableClusters) {
                break;
            }
            blocks = neededBlocks;
            tableClusters = neededTable;
        }
        long total = 1 + tableClusters + blocks + l1Clusters;
        long l1Offset = (1 + tableClusters + blocks) * clusterSize;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment header = arena.allocate(clusterSize, 8);
            header.set(BE_INT, HEADER_MAGIC, MAGIC);
            header.set(BE_INT, HEADER_VERSION, 3);
            header.set(BE_INT, HEADER_CLUSTER_BITS, clusterBits);
            header.set(BE_LONG, HEADER_SIZE, size);
            header.set(BE_INT, HEADER_CRYPT_METHOD, CRYPT_NONE);
            header.set(BE_INT, HEADER_L1_SIZE, (int) l1Entries);
            header.set(BE_LONG, HEADER_L1_TABLE_OFFSET, l1Offset);
            header.set(BE_LONG, HEADER_REFCOUNT_TABLE_OFFSET, clusterSize);
            header.set(BE_INT, HEADER_REFCOUNT_TABLE_CLUSTERS, (int) tableClusters);
            header.set(BE_INT, HEADER_REFCOUNT_ORDER, REFCOUNT_ORDER);
            header.set(BE_INT, HEADER_HEADER_LENGTH, V3_HEADER_LENGTH);
            long at = V3_HEADER_LENGTH;
            if (backingFile != null) {
                at = extension(header, at, EXT_BACKING_FORMAT, backingFormat.qemuName());
            }
            at += 8; // the end-of-extensions marker: type 0, length 0
            if (backingFile != null) {
                byte[] name = backingFile.getBytes(StandardCharsets.UTF_8);
                if (at + name.length > clusterSize) {
                    throw new IOException(file.name() + ": the backing file name does not fit in a "
                            + clusterSize + "-byte header cluster; use larger clusters");
                }
                MemorySegment.copy(MemorySegment.ofArray(name), 0, header, at, name.length);
                header.set(BE_LONG, HEADER_BACKING_FILE_OFFSET, at);
                header.set(BE_INT, HEADER_BACKING_FILE_SIZE, name.length);
            }
            file.write(0, header, 0, clusterSize);

            MemorySegment table = arena.allocate(tableClusters * clusterSize, 8);
            for (long i = 0; i < blocks; i++) {
                table.set(BE_LONG, i * 8, (1 + tableClusters + i) * clusterSize);
            }
            file.write(clusterSize, table, 0, table.byteSize());
            MemorySegment block = arena.allocate(clusterSize, 8);
            for (long i = 0; i < blocks; i++) {
                block.fill((byte) 0);
                for (long c = i * perBlock; c < Math.min(total, (i + 1) * perBlock); c++) {
                    block.set(BE_SHORT, (c - i * perBlock) * 2, (short) 1);
                }
                file.write((1 + tableClusters + i) * clusterSize, block, 0, clusterSize);
            }
        }
        file.truncate(total * clusterSize);
    }

    private static long extension(MemorySegment header, long at, int type, String value) {
        byte[] data = value.getBytes(StandardCharsets.UTF_8);
        header.set(BE_INT, at, type);
        header.set(BE_INT, at + 4, data.length);
        MemorySegment.copy(MemorySegment.ofArray(data), 0, header, at + 8, data.length);
        return at + 8 + ((data.length + 7) & ~7L);
    }
}
