package dev.hako.vmm.image.disk;

import static dev.hako.vmm.image.disk.Qcow2Format.*;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The map from guest clusters to host clusters (qcow2.txt "Cluster mapping"): the L1 table, held whole in memory,
 * and the L2 tables in a bounded cache. For a write it gives an L2 table the image may change: a new one where the
 * L1 entry is empty, a copy where the table is shared with an internal snapshot (its L1 entry lacks the COPIED
 * flag).
 *
 * <p>Changes stay in memory until written back in the order the image decides ({@link MetadataOrder}): a dirty L2
 * table leaves the cache only after the data and refcounts it depends on are synced, and the L1 table is written
 * only by {@link #writebackL1}, after the L2 tables it points to.
 */
final class ClusterMap {
    /** What the image does around metadata writes to keep its on-disk state consistent. */
    interface MetadataOrder {
        /** Everything an L2 table about to be written may point to is on stable storage. */
        void beforeTableWrite() throws IOException;

        /** Drops one reference to each cluster of the host range once the change that stopped using it is durable. */
        void release(long offset, long length) throws IOException;
    }

    private static final long CACHE_BYTES = 8L << 20;

    private final ImageFile file;
    private final Refcounts refcounts;
    private final MetadataOrder order;
    private final int clusterBits;
    private final long clusterSize;
    private final int l2Bits;
    private final MemorySegment l1;
    private final long l1Offset;
    private final long l1Size;
    private long l1DirtyFirst = Long.MAX_VALUE;
    private long l1DirtyEnd = -1;
    private final MetadataCache tables;

    ClusterMap(ImageFile file, Arena arena, Qcow2Header header, Refcounts refcounts, MetadataOrder order)
            throws IOException {
        this.file = file;
        this.refcounts = refcounts;
        this.order = order;
        this.clusterBits = header.clusterBits();
        this.clusterSize = 1L << clusterBits;
        this.l2Bits = clusterBits - 3;
        this.l1Offset = header.l1TableOffset();
        this.l1Size = header.l1Size();
        this.l1 = arena.allocate(Math.max(8, l1Size * 8), 8);
        file.read(l1Offset, l1, 0, l1Size * 8);
        long guestClusters = (header.size() + clusterSize - 1) >>> clusterBits;
        long tablesNeeded = (guestClusters + (1L << l2Bits) - 1) >>> l2Bits;
        this.tables = new MetadataCache(arena, clusterBits, CACHE_BYTES, tablesNeeded);
    }

    /** Guest bytes one L2 table maps. */
    long tableSpan() {
        return 1L << (clusterBits + l2Bits);
    }

    /** Whether the guest offset's L1 entry points to an L2 table. */
    boolean mapped(long guestOffset) {
        return (l1Entry(guestOffset >>> (clusterBits + l2Bits)) & OFFSET_MASK) != 0;
    }

    /** The L2 entry of the guest cluster holding {@code guestOffset}; 0 where no L2 table maps it. */
    long entry(long guestOffset) throws IOException {
        long index = guestOffset >>> (clusterBits + l2Bits);
        long raw = l1Entry(index);
        if ((raw & OFFSET_MASK) == 0) {
            return 0;
        }
        return entryAt(load(index, raw), guestOffset);
    }

    /** The slot of an L2 table for {@code guestOffset} that may be changed (allocated or copied first). */
    int tableForWrite(long guestOffset) throws IOException {
        long index = guestOffset >>> (clusterBits + l2Bits);
        long raw = l1Entry(index);
        long old = raw & OFFSET_MASK;
        if (old != 0 && (raw & OFLAG_COPIED) != 0) {
            return load(index, raw);
        }
        long offset = refcounts.allocate(1);
        int slot;
        if (old == 0) {
            slot = claim(index);
            Zeroes.fill(tables.memory(), tables.base(slot), clusterSize);
            tables.install(slot, index, offset);
            tables.markDirty(slot);
        } else {
            slot = load(index, raw);
            tables.moveTo(slot, offset);
        }
        setL1Entry(index, offset | OFLAG_COPIED);
        if (old != 0) {
            order.release(old, clusterSize);
        }
        return slot;
    }

    long entryAt(int slot, long guestOffset) {
        return tables.memory().get(BE_LONG, tables.base(slot) + l2Index(guestOffset) * 8);
    }

    void setEntry(int slot, long guestOffset, long value) {
        tables.memory().set(BE_LONG, tables.base(slot) + l2Index(guestOffset) * 8, value);
        tables.markDirty(slot);
    }

    boolean tablesDirty() {
        return tables.anyDirty();
    }

    boolean l1Dirty() {
        return l1DirtyEnd >= 0;
    }

    /** Writes every changed L2 table back; the caller has made what they point to durable. */
    void writebackTables() throws IOException {
        if (!tables.anyDirty()) {
            return;
        }
        for (int slot = 0; slot < tables.slots(); slot++) {
            if (tables.dirty(slot)) {
                writeTable(slot);
            }
        }
    }

    /** Writes the changed part of the L1 table; the caller has made the L2 tables it points to durable. */
    void writebackL1() throws IOException {
        if (l1DirtyEnd < 0) {
            return;
        }
        file.write(l1Offset + l1DirtyFirst * 8, l1, l1DirtyFirst * 8, (l1DirtyEnd - l1DirtyFirst) * 8);
        l1DirtyFirst = Long.MAX_VALUE;
        l1DirtyEnd = -1;
    }

    private long l2Index(long guestOffset) {
        return (guestOffset >>> clusterBits) & ((1L << l2Bits) - 1);
    }

    private long l1Entry(long index) {
        return index < l1Size ? l1.get(BE_LONG, index * 8) : 0;
    }

    private void setL1Entry(long index, long value) {
        l1.set(BE_LONG, index * 8, value);
        l1DirtyFirst = Math.min(l1DirtyFirst, index);
        l1DirtyEnd = Math.max(l1DirtyEnd, index + 1);
    }

    private int load(long index, long raw) throws IOException {
        int slot = tables.find(index);
        if (slot >= 0) {
            return slot;
        }
        long offset = raw & OFFSET_MASK;
        if ((offset & (clusterSize - 1)) != 0) {
            throw Qcow2Header.corrupt(file, "L2 table offset " + offset + " (L1 index " + index
                    + ") is not cluster-aligned");
        }
        if (offset > file.length() - clusterSize || refcounts.overlapsFixedMetadata(offset, clusterSize)) {
            throw Qcow2Header.corrupt(file, "L2 table at " + offset + " (L1 index " + index
                    + ") lies past the end of the file or on the header, L1 table or refcount table");
        }
        slot = claim(index);
        file.read(offset, tables.memory(), tables.base(slot), clusterSize);
        tables.install(slot, index, offset);
        return slot;
    }

    private int claim(long index) throws IOException {
        int slot = tables.victim(index);
        if (tables.dirty(slot)) {
            order.beforeTableWrite();
            writeTable(slot);
        }
        return slot;
    }

    private void writeTable(int slot) throws IOException {
        file.write(tables.hostOffset(slot), tables.memory(), tables.base(slot), clusterSize);
        tables.markClean(slot);
    }
}
