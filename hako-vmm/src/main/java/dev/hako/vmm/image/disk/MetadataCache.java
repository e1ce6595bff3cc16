package dev.hako.vmm.image.disk;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A bounded cache of cluster-sized metadata tables (L2 tables, refcount blocks), preallocated off-heap when the
 * image opens: set-associative, four ways, least recently used out first. A table is found by its key (its L1 or
 * refcount-table index), so a hit is a scan of four longs and allocates nothing. The cache only keeps the
 * tables; its owner reads them in and writes dirty ones back, because the order of those writes is what keeps
 * the image consistent after a crash.
 */
final class MetadataCache {
    private static final int WAYS = 4;
    private static final long EMPTY = -1;

    private final long clusterSize;
    private final int setMask;
    private final MemorySegment memory;
    private final long[] keys;
    private final long[] hostOffsets;
    private final long[] lastUse;
    private final boolean[] dirty;
    private long clock;
    private int dirtyCount;

    /** A cache of at most {@code budgetBytes} (at least one set), and no more tables than {@code maxKeys}. */
    MetadataCache(Arena arena, int clusterBits, long budgetBytes, long maxKeys) {
        this.clusterSize = 1L << clusterBits;
        long wanted = Math.max(WAYS, Math.min(budgetBytes >>> clusterBits, Math.max(maxKeys, 1)));
        int sets = Integer.highestOneBit((int) Math.min(1 << 20, (wanted + WAYS - 1) / WAYS));
        int slots = sets * WAYS;
        this.setMask = sets - 1;
        this.memory = arena.allocate(slots * clusterSize, 4096);
        this.keys = new long[slots];
        this.hostOffsets = new long[slots];
        this.lastUse = new long[slots];
        this.dirty = new boolean[slots];
        Arrays.fill(keys, EMPTY);
    }

    MemorySegment memory() {
        return memory;
    }

    int slots() {
        return keys.length;
    }

    /** Where slot {@code slot}'s table starts in {@link #memory()}. */
    long base(int slot) {
        return slot * clusterSize;
    }

    /** The slot holding the table for {@code key}, or -1. */
    int find(long key) {
        int first = (int) (key & setMask) * WAYS;
        for (int slot = first; slot < first + WAYS; slot++) {
            if (keys[slot] == key) {
                lastUse[slot] = ++clock;
                return slot;
            }
        }
        return -1;
    }

    /**
     * The slot a table for {@code key} should go to: an empty one of its set, else the least recently used. The
     * owner writes it back first when it is {@link #dirty(int)}, then calls {@link #install}.
     */
    int victim(long key) {
        int first = (int) (key & setMask) * WAYS;
        int best = first;
        for (int slot = first; slot < first + WAYS; slot++) {
            if (keys[slot] == EMPTY) {
                return slot;
            }
            if (lastUse[slot] < lastUse[best]) {
                best = slot;
            }
        }
        return best;
    }

    /** Slot {@code slot} now holds the (clean) table for {@code key}, stored at {@code hostOffset}. */
    void install(int slot, long key, long hostOffset) {
        if (dirty[slot]) {
            dirty[slot] = false;
            dirtyCount--;
        }
        keys[slot] = key;
        hostOffsets[slot] = hostOffset;
        lastUse[slot] = ++clock;
    }

    boolean occupied(int slot) {
        return keys[slot] != EMPTY;
    }

    long key(int slot) {
        return keys[slot];
    }

    long hostOffset(int slot) {
        return hostOffsets[slot];
    }

    /** The table moved (copy-on-write): it will be written back to {@code hostOffset}. */
    void moveTo(int slot, long hostOffset) {
        hostOffsets[slot] = hostOffset;
        markDirty(slot);
    }

    boolean dirty(int slot) {
        return dirty[slot];
    }

    void markDirty(int slot) {
        if (!dirty[slot]) {
            dirty[slot] = true;
            dirtyCount++;
        }
    }

    void markClean(int slot) {
        if (dirty[slot]) {
            dirty[slot] = false;
            dirtyCount--;
        }
    }

    boolean anyDirty() {
        return dirtyCount > 0;
    }
}
