package dev.hako.soft.mmu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One privilege level's software TLB, off-heap: per entry the page address a read, a write and an instruction
 * fetch may use it for, and the delta that turns a guest linear address on that page into a host address. The
 * fast paths reach an entry by address ({@link HostMemory}), so a probe is two loads and a compare: no array
 * field to load again after every guest access's fence, no bounds check, and the tags and delta of an entry share
 * a cache line. Entries are written by their vCPU, and their write tags also by a vCPU that marks a page as code
 * ({@link Mmu#dropWriteTranslations}); a plain store, seen at the owner's next probe of the entry.
 *
 * <p>Translations of global pages (PTE.G with CR4.PGE, SDM vol. 3A, 4.10.2.4) outlive CR3 writes, as on hardware:
 * Linux maps its own text and data global, so a context switch keeps them. The table notes which entries hold
 * only global translations, and which it filled with others since the last flush, so a CR3 write clears those
 * alone rather than the whole table.
 */
final class TlbTable {
    static final int READ = 0, WRITE = 8, EXECUTE = 16, DELTA = 24;
    /** An entry is 1 << ENTRY_SHIFT bytes: three tags and the delta. */
    static final int ENTRY_SHIFT = 5;
    /** Never a page address (those have their low 12 bits clear); what a cleared table holds everywhere. */
    static final long NO_TAG = -1;

    /** Entries filled with non-global translations that a flush remembers; past it, a flush looks at them all. */
    private static final int FILLS_REMEMBERED = 1024;

    private final MemorySegment table;
    private final int entries;
    /** Per entry: every translation it holds is of a global page. */
    private final boolean[] global;
    /** Per entry: in {@link #nonGlobalFills} (or counted past its end) since the last flush. */
    private final boolean[] listed;
    private final int[] nonGlobalFills = new int[FILLS_REMEMBERED];
    private int nonGlobalFillCount;
    /** The host address of entry 0. */
    final long address;

    TlbTable(int entries) {
        this.entries = entries;
        this.global = new boolean[entries];
        this.listed = new boolean[entries];
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
        Arrays.fill(global, false);
        Arrays.fill(listed, false);
        nonGlobalFillCount = 0;
    }

    /**
     * Notes that the entry at host address {@code entry} is about to take a translation of a global page or not;
     * {@code keepsOthers}: its other tags stay (the new translation has the delta they have).
     */
    void filling(long entry, boolean globalPage, boolean keepsOthers) {
        int index = (int) ((entry - address) >>> ENTRY_SHIFT);
        boolean holdsOthers = keepsOthers && (HostMemory.get64(entry + READ) != NO_TAG
                || HostMemory.get64(entry + WRITE) != NO_TAG || HostMemory.get64(entry + EXECUTE) != NO_TAG);
        boolean onlyGlobal = globalPage && (!holdsOthers || global[index]);
        global[index] = onlyGlobal;
        if (!onlyGlobal && !listed[index]) {
            listed[index] = true;
            if (nonGlobalFillCount < FILLS_REMEMBERED) {
                nonGlobalFills[nonGlobalFillCount] = index;
            }
            nonGlobalFillCount++;
        }
    }

    /** Forgets every translation but those of global pages (a CR3 write). */
    void clearNonGlobal() {
        if (nonGlobalFillCount > FILLS_REMEMBERED) {
            for (int i = 0; i < entries; i++) {
                clearIfNotGlobal(i);
            }
        } else {
            for (int k = 0; k < nonGlobalFillCount; k++) {
                clearIfNotGlobal(nonGlobalFills[k]);
            }
        }
        nonGlobalFillCount = 0;
    }

    private void clearIfNotGlobal(int index) {
        if (!global[index]) {
            clearEntry(index);
        }
        listed[index] = false;
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
