package dev.hako.soft.mmu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One privilege level's software TLB, off-heap: per entry the page address a read, a write and an instruction
 * fetch may use it for, and the delta that turns a guest linear address on that page into a host address. The
 * fast paths reach an entry by address ({@link HostMemory}), so a probe is two loads and a compare: no array
 * field to load again after every guest access's fence, no bounds check, and the tags and delta of an entry share
 * a cache line. Entries are written by their vCPU, and their write tags also by a vCPU that marks a page as code
 * ({@link Mmu#dropWriteTranslations}); a plain store, seen at the owner's next probe of the entry.
 */
final class TlbTable {
    static final int READ = 0, WRITE = 8, EXECUTE = 16, DELTA = 24;
    /** An entry is 1 << ENTRY_SHIFT bytes: three tags and the delta. */
    static final int ENTRY_SHIFT = 5;
    /** Never a page address (those have their low 12 bits clear); what a cleared table holds everywhere. */
    static final long NO_TAG = -1;

    private final MemorySegment table;
    private final int entries;
    /** The host address of entry 0. */
    final long address;

    TlbTable(int entries) {
        this.entries = entries;
        // An automatic arena: the table lives as long as the MMU that holds it.
        this.table = Arena.ofAuto().allocate((long) entries << ENTRY_SHIFT, 64);
        this.address = table.address();
        clear();
    }

    /** The host address of entry {@code index}. */
    long entry(int index) {
        return address + ((long) index << ENTRY_SHIFT);
    }

    /** Forgets every translation: all tags (and deltas) become {@link #NO_TAG}. */
    void clear() {
        table.fill((byte) -1);
    }

    /** Forgets every write translation. */
    void clearWrites() {
        for (int i = 0; i < entries; i++) {
            HostMemory.put64(entry(i) + WRITE, NO_TAG);
        }
    }

    /** Forgets entry {@code index} for every kind of access. */
    void clearEntry(int index) {
        clearTags(entry(index));
    }

    /** Forgets the entry at host address {@code entry} for every kind of access; its delta stays. */
    static void clearTags(long entry) {
        HostMemory.put64(entry + READ, NO_TAG);
        HostMemory.put64(entry + WRITE, NO_TAG);
        HostMemory.put64(entry + EXECUTE, NO_TAG);
    }
}
