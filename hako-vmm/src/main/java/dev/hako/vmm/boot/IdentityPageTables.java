package dev.hako.vmm.boot;

import dev.hako.core.memory.GuestMemory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * 4-level page tables that map guest physical memory 1:1 (Intel SDM Vol. 3A 4.5), for the 64-bit entry, which
 * needs paging on and the kernel, zero page and command line identity-mapped. The map covers at least the first
 * 4 GiB (so the MMIO window is reachable too) and all of RAM. 2 MiB pages are used because every x86-64 CPU has
 * them; 1 GiB pages (CPUID PDPE1GB) only when 2 MiB directories would not fit in the space {@link BootLayout}
 * gives the tables.
 */
public final class IdentityPageTables {
    private static final ValueLayout.OfLong ENTRY = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long PRESENT = 1, WRITABLE = 1 << 1, PAGE_SIZE = 1 << 7;
    private static final long GIB = 1L << 30, MIB2 = 1L << 21, PAGE = 4096;
    private static final int ENTRIES = 512;

    private IdentityPageTables() {
    }

    /** Writes the tables at {@link BootLayout#PAGE_TABLES} and returns the CR3 value (the PML4 address). */
    public static long build(GuestMemory memory) {
        long span = Math.max(4 * GIB, memory.size());
        long gibs = (span + GIB - 1) / GIB;
        if (gibs > ENTRIES) {
            throw new IllegalArgumentException("identity map of " + gibs + " GiB needs more than one PDPT");
        }
        long pml4 = BootLayout.PAGE_TABLES;
        long pdpt = pml4 + PAGE;
        long directories = pdpt + PAGE;
        boolean twoMegPages = directories + gibs * PAGE <= BootLayout.PAGE_TABLES_END;
        memory.fill(pml4, BootLayout.PAGE_TABLES_END - pml4, (byte) 0);
        MemorySegment ram = memory.segment();
        ram.set(ENTRY, pml4, pdpt | PRESENT | WRITABLE);
        for (long g = 0; g < gibs; g++) {
            if (!twoMegPages) {
                ram.set(ENTRY, pdpt + g * 8, (g * GIB) | PRESENT | WRITABLE | PAGE_SIZE);
                continue;
            }
            long directory = directories + g * PAGE;
            ram.set(ENTRY, pdpt + g * 8, directory | PRESENT | WRITABLE);
            for (int i = 0; i < ENTRIES; i++) {
                ram.set(ENTRY, directory + i * 8L, (g * GIB + i * MIB2) | PRESENT | WRITABLE | PAGE_SIZE);
            }
        }
        return pml4;
    }
}
