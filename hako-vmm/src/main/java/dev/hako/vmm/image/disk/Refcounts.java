package dev.hako.vmm.image.disk;

import static dev.hako.vmm.image.disk.Qcow2Format.*;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A qcow2 image's cluster reference counts (qcow2.txt "Host cluster management"): the refcount table, held
 * whole in memory, and its refcount blocks in a bounded cache; allocation of host clusters (first fit from a
 * hint, creating refcount blocks and growing the table as the file grows), and releasing them.
 *
 * <p>Crash safety is a matter of order, and this class keeps its part of it. A new refcount block is written
 * and synced before the table entry that points to it; a grown table, with the blocks that count its own
 * clusters, is written and synced before the header switches to it. Increments may reach the disk at any time
 * (a cluster counted but not yet used is a leak, which {@code qemu-img check} accepts). Decrements may not reach
 * the disk before the entries that stopped using the cluster: {@link #releaseLater} only queues them, and the
 * image applies the queue ({@link #applyReleases}) once its L2 and L1 changes are on stable storage.
 */
final class Refcounts {
    private static final int RELEASE_QUEUE = 1024;
    private static final long CACHE_BYTES = 256 << 10;

    private final ImageFile file;
    private final int clusterBits;
    private final long clusterSize;
    private final int order;
    private final long maxRefcount;
    private final int blockBits;
    private final long maxClusters;
    private final MetadataCache blocks;
    private final MemorySegment scratch;
    private final long l1Offset, l1Bytes;
    private MemorySegment table;
    private long tableOffset;
    private long tableEntries;
    private long freeHint;
    private final long[] releaseFirst = new long[RELEASE_QUEUE];
    private final long[] releaseCount = new long[RELEASE_QUEUE];
    private int releasesQueued;

    Refcounts(ImageFile file, Arena arena, Qcow2Header header) throws IOException {
        this.file = file;
        this.clusterBits = header.clusterBits();
        this.clusterSize = 1L << clusterBits;
        this.order = header.refcountOrder();
        this.maxRefcount = order == 6 ? -1L : (1L << (1 << order)) - 1;
        this.blockBits = clusterBits + 3 - order;
        this.maxClusters = MAX_HOST_OFFSET >>> clusterBits;
        this.l1Offset = header.l1TableOffset();
        this.l1Bytes = header.l1Size() * 8;
        this.tableOffset = header.refcountTableOffset();
        this.tableEntries = header.refcountTableClusters() * clusterSize / 8;
        this.table = Arena.ofAuto().allocate(tableEntries * 8, 8);
        file.read(tableOffset, table, 0, tableEntries * 8);
        this.blocks = new MetadataCache(arena, clusterBits, CACHE_BYTES, Long.MAX_VALUE);
        this.scratch = arena.allocate(16, 8);
    }

    /** The reference count of host cluster {@code cluster} (a cluster index, not an offset). */
    long refcount(long cluster) throws IOException {
        long index = cluster >>> blockBits;
        if (!hasBlock(index)) {
            return 0;
        }
        int slot = load(index);
        return entry(blocks.memory(), blocks.base(slot), cluster & ((1L << blockBits) - 1));
    }

    /** Allocates {@code count} contiguous free host clusters, counted once each; returns the first one's offset. */
    long allocate(long count) throws IOException {
        while (true) {
            long start = findFree(count);
            long missing = firstMissingBlock(start, count);
            if (missing >= 0) {
                createBlock(missing);
                continue;
            }
            if (overlapsFixedMetadata(start << clusterBits, count << clusterBits)) {
                throw Qcow2Header.corrupt(file, "the refcount of a cluster of the header, L1 table or refcount"
                        + " table is 0");
            }
            for (long c = start; c < start + count; c++) {
                adjust(c, 1);
            }
            if (start == freeHint) {
                freeHint = start + count;
            }
            return start << clusterBits;
        }
    }

    /**
     * Queues one reference to each cluster overlapping {@code [offset, offset + length)} for release; false when
     * the queue is full (the image must commit its metadata, which applies the queue, and ask again).
     */
    boolean releaseLater(long offset, long length) {
        if (releasesQueued == RELEASE_QUEUE) {
            return false;
        }
        long first = offset >>> clusterBits;
        releaseFirst[releasesQueued] = first;
        releaseCount[releasesQueued] = ((offset + length - 1) >>> clusterBits) - first + 1;
        releasesQueued++;
        return true;
    }

    boolean releasesQueued() {
        return releasesQueued > 0;
    }

    /** Drops the queued references; only once nothing on disk uses them any more. */
    void applyReleases() throws IOException {
        int queued = releasesQueued;
        releasesQueued = 0;
        for (int i = 0; i < queued; i++) {
            for (long c = releaseFirst[i]; c < releaseFirst[i] + releaseCount[i]; c++) {
                if (adjust(c, -1) == 0 && c < freeHint) {
                    freeHint = c;
                }
            }
        }
    }

    boolean dirty() {
        return blocks.anyDirty();
    }

    /** Writes every changed refcount block back (no sync). */
    void writeback() throws IOException {
        if (!blocks.anyDirty()) {
            return;
        }
        for (int slot = 0; slot < blocks.slots(); slot++) {
            if (blocks.dirty(slot)) {
                writeBlock(slot);
            }
        }
    }

    /** Whether a host range touches the header cluster, the L1 table or the refcount table. */
    boolean overlapsFixedMetadata(long offset, long length) {
        return offset < clusterSize || overlaps(offset, length, l1Offset, l1Bytes)
                || overlaps(offset, length, tableOffset, tableEntries * 8);
    }

    private static boolean overlaps(long offset, long length, long start, long size) {
        return size > 0 && offset < start + size && start < offset + length;
    }

    private boolean hasBlock(long index) {
        return index < tableEntries && table.get(BE_LONG, index * 8) != 0;
    }

    private long firstMissingBlock(long start, long count) {
        for (long index = start >>> blockBits; index <= (start + count - 1) >>> blockBits; index++) {
            if (!hasBlock(index)) {
                return index;
            }
        }
        return -1;
    }

    /** First fit: the first run of {@code count} free clusters at or after the hint. */
    private long findFree(long count) throws IOException {
        long start = freeHint;
        long c = freeHint;
        long mask = (1L << blockBits) - 1;
        while (c - start < count) {
            if (c + count > maxClusters) {
                throw new IOException(file.name() + ": image full: qcow2 cannot address host offsets beyond"
                        + " 2^56");
            }
            long index = c >>> blockBits;
            long blockEnd = (index + 1) << blockBits;
            if (!hasBlock(index)) {
                c = blockEnd;
                continue;
            }
            int slot = load(index);
            MemorySegment memory = blocks.memory();
            long base = blocks.base(slot);
            for (; c < blockEnd && c - start < count; c++) {
                if (entry(memory, base, c & mask) != 0) {
                    start = c + 1;
                }
            }
        }
        return start;
    }

    /** Adds {@code delta} (+1 or -1) to a cluster's refcount; returns the new count. */
    private long adjust(long cluster, int delta) throws IOException {
        long index = cluster >>> blockBits;
        if (!hasBlock(index)) {
            throw Qcow2Header.corrupt(file, "cluster " + (cluster << clusterBits) + " is in use but has no"
                    + " refcount block");
        }
        int slot = load(index);
        MemorySegment memory = blocks.memory();
        long base = blocks.base(slot);
        long i = cluster & ((1L << blockBits) - 1);
        long value = entry(memory, base, i);
        if (delta < 0 && value == 0) {
            throw Qcow2Header.corrupt(file, "cluster " + (cluster << clusterBits) + " is released but its"
                    + " refcount is already 0");
        }
        if (delta > 0 && value == maxRefcount) {
            throw Qcow2Header.corrupt(file, "the refcount of cluster " + (cluster << clusterBits)
                    + " would overflow " + (1 << order) + " bits");
        }
        setEntry(memory, base, i, value + delta);
        blocks.markDirty(slot);
        return value + delta;
    }

    private int load(long index) throws IOException {
        int slot = blocks.find(index);
        if (slot >= 0) {
            return slot;
        }
        long raw = table.get(BE_LONG, index * 8);
        long offset = raw & REFTABLE_OFFSET_MASK;
        if ((raw & (clusterSize - 1)) != 0) {
            throw Qcow2Header.corrupt(file, "refcount block offset " + Long.toUnsignedString(raw)
                    + " is not cluster-aligned");
        }
        if (offset > file.length() - clusterSize || overlapsFixedMetadata(offset, clusterSize)) {
            throw Qcow2Header.corrupt(file, "refcount block at " + Long.toUnsignedString(offset)
                    + " lies past the end of the file or on the header, L1 table or refcount table");
        }
        slot = claim(index);
        file.read(offset, blocks.memory(), blocks.base(slot), clusterSize);
        blocks.install(slot, index, offset);
        return slot;
    }

    private int claim(long index) throws IOException {
        int slot = blocks.victim(index);
        if (blocks.dirty(slot)) {
            writeBlock(slot);
        }
        return slot;
    }

    private void writeBlock(int slot) throws IOException {
        file.write(blocks.hostOffset(slot), blocks.memory(), blocks.base(slot), clusterSize);
        blocks.markClean(slot);
    }

    /**
     * Gives table entry {@code index} a new, empty refcount block, in the first free cluster: that cluster's own
     * refcount lives either in the new block itself or in an existing one.
     */
    private void createBlock(long index) throws IOException {
        if (index >= tableEntries) {
            growTable(index);
            return;
        }
        long cluster = findFree(1);
        long home = cluster >>> blockBits;
        if (home != index && !hasBlock(home)) {
            createBlock(home);
            return;
        }
        long offset = cluster << clusterBits;
        if (overlapsFixedMetadata(offset, clusterSize)) {
            throw Qcow2Header.corrupt(file, "the refcount of a cluster of the header, L1 table or refcount table"
                    + " is 0");
        }
        if (home != index) {
            adjust(cluster, 1);
        }
        int slot = claim(index);
        long base = blocks.base(slot);
        Zeroes.fill(blocks.memory(), base, clusterSize);
        if (home == index) {
            setEntry(blocks.memory(), base, cluster & ((1L << blockBits) - 1), 1);
        }
        blocks.install(slot, index, offset);
        file.write(offset, blocks.memory(), base, clusterSize);
        writeback();
        file.sync();
        setTableEntry(index, offset);
        if (freeHint == cluster) {
            freeHint = cluster + 1;
        }
    }

    private void setTableEntry(long index, long offset) throws IOException {
        table.set(BE_LONG, index * 8, offset);
        file.write(tableOffset + index * 8, table, index * 8, 8);
    }

    /**
     * Moves the refcount table to a larger one. The new table goes into free clusters together with new refcount
     * blocks for those clusters (and for any others of the area without one), so that the new table, once the
     * header points to it, describes itself. The old table is then released.
     */
    private void growTable(long neededIndex) throws IOException {
        long perCluster = clusterSize / 8;
        long entries = Math.max(neededIndex + 1, tableEntries + tableEntries / 2);
        long newBlocks = 0;
        long tableClusters;
        long area;
        long areaEnd;
        while (true) {
            tableClusters = (entries + perCluster - 1) / perCluster;
            entries = tableClusters * perCluster;
            area = findFree(newBlocks + tableClusters);
            areaEnd = area + newBlocks + tableClusters;
            long lastIndex = (areaEnd - 1) >>> blockBits;
            if (lastIndex >= entries) {
                entries = lastIndex + 1;
                continue;
            }
            long missing = 0;
            for (long index = area >>> blockBits; index <= lastIndex; index++) {
                missing += hasBlock(index) ? 0 : 1;
            }
            if (missing == newBlocks) {
                break;
            }
            newBlocks = missing;
        }
        if (tableClusters * clusterSize > MAX_REFTABLE_BYTES) {
            throw new IOException(file.name() + ": image full: its refcount table would exceed QEMU's 8 MiB limit");
        }
        if (overlapsFixedMetadata(area << clusterBits, (areaEnd - area) << clusterBits)) {
            throw Qcow2Header.corrupt(file, "the refcount of a cluster of the header, L1 table or refcount table"
                    + " is 0");
        }
        MemorySegment newTable = Arena.ofAuto().allocate(tableClusters * clusterSize, 8);
        MemorySegment.copy(table, 0, newTable, 0, tableEntries * 8);
        writeNewBlocks(newTable, area, areaEnd);
        long newTableOffset = (area + newBlocks) << clusterBits;
        file.write(newTableOffset, newTable, 0, tableClusters * clusterSize);
        file.sync();
        scratch.set(BE_LONG, 0, newTableOffset);
        scratch.set(BE_INT, 8, (int) tableClusters);
        file.write(HEADER_REFCOUNT_TABLE_OFFSET, scratch, 0, 12);
        file.sync();

        long oldFirst = tableOffset >>> clusterBits;
        long oldClusters = tableEntries * 8 >>> clusterBits;
        table = newTable;
        tableOffset = newTableOffset;
        tableEntries = entries;
        if (freeHint >= area && freeHint < areaEnd) {
            freeHint = areaEnd;
        }
        for (long c = oldFirst; c < oldFirst + oldClusters; c++) {
            adjust(c, -1);
        }
        freeHint = Math.min(freeHint, oldFirst);
    }

    /**
     * Counts the clusters of {@code [area, areaEnd)}: in new blocks, placed at the start of the area and entered
     * in {@code newTable}, where the old table has none; in the existing blocks elsewhere.
     */
    private void writeNewBlocks(MemorySegment newTable, long area, long areaEnd) throws IOException {
        long mask = (1L << blockBits) - 1;
        long next = area;
        try (Arena temporary = Arena.ofConfined()) {
            MemorySegment block = temporary.allocate(clusterSize, 8);
            for (long index = area >>> blockBits; index <= (areaEnd - 1) >>> blockBits; index++) {
                long from = Math.max(area, index << blockBits);
                long to = Math.min(areaEnd, (index + 1) << blockBits);
                if (hasBlock(index)) {
                    for (long c = from; c < to; c++) {
                        adjust(c, 1);
                    }
                    continue;
                }
                block.fill((byte) 0);
                for (long c = from; c < to; c++) {
                    setEntry(block, 0, c & mask, 1);
                }
                file.write(next << clusterBits, block, 0, clusterSize);
                newTable.set(BE_LONG, index * 8, next << clusterBits);
                next++;
            }
        }
        writeback();
    }

    private long entry(MemorySegment memory, long base, long index) {
        return switch (order) {
            case 0, 1, 2 -> {
                long bit = index << order;
                int b = memory.get(ValueLayout.JAVA_BYTE, base + (bit >>> 3));
                yield (b >>> (bit & 7)) & maxRefcount;
            }
            case 3 -> Byte.toUnsignedLong(memory.get(ValueLayout.JAVA_BYTE, base + index));
            case 4 -> Short.toUnsignedLong(memory.get(BE_SHORT, base + index * 2));
            case 5 -> Integer.toUnsignedLong(memory.get(BE_INT, base + index * 4));
            default -> memory.get(BE_LONG, base + index * 8);
        };
    }

    private void setEntry(MemorySegment memory, long base, long index, long value) {
        switch (order) {
            case 0, 1, 2 -> {
                long bit = index << order;
                long at = base + (bit >>> 3);
                int shift = (int) (bit & 7);
                int b = memory.get(ValueLayout.JAVA_BYTE, at);
                b = (b & ~((int) maxRefcount << shift)) | ((int) value << shift);
                memory.set(ValueLayout.JAVA_BYTE, at, (byte) b);
            }
            case 3 -> memory.set(ValueLayout.JAVA_BYTE, base + index, (byte) value);
            case 4 -> memory.set(BE_SHORT, base + index * 2, (short) value);
            case 5 -> memory.set(BE_INT, base + index * 4, (int) value);
            default -> memory.set(BE_LONG, base + index * 8, value);
        }
    }
}
