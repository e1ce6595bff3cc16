package dev.hako.vmm.boot;

import java.util.ArrayList;
import java.util.List;

/**
 * The guest physical memory map as the BIOS E820 call would report it (ACPI 6.5 ch. 15, "System Address Map
 * Interfaces"), handed to Linux in boot_params.e820_table or the PVH memmap (whose types are the same numbers).
 * Guest RAM is identity-mapped from address 0; the standard PC holes are carved out of it.
 */
public record E820Map(List<Entry> entries) {
    public static final int TYPE_RAM = 1;
    public static final int TYPE_RESERVED = 2;
    public static final int TYPE_ACPI = 3;
    public static final int TYPE_NVS = 4;
    public static final int TYPE_UNUSABLE = 5;

    /** Conventional memory ends here; the EBDA would sit just below 640 KiB. */
    public static final long CONVENTIONAL_END = 0x9FC00;
    public static final long EBDA_END = 0xA0000;
    /** 32-bit MMIO window (IOAPIC at 0xFEC00000, local APIC at 0xFEE00000, PCI BARs): never RAM. */
    public static final long MMIO_HOLE_START = 0xC000_0000L;
    public static final long MMIO_HOLE_END = 0x1_0000_0000L;

    public record Entry(long address, long size, int type) {
        public long end() {
            return address + size;
        }
    }

    public E820Map {
        entries = List.copyOf(entries);
    }

    /** The map of a machine whose RAM covers guest physical {@code [0, ramSize)}, less the PC holes. */
    public static E820Map forRam(long ramSize) {
        if (ramSize < 2 * BootLayout.HIGH_MEMORY) {
            throw new IllegalArgumentException("guest RAM of " + ramSize + " bytes is too small to boot Linux");
        }
        List<Entry> entries = new ArrayList<>();
        entries.add(new Entry(0, CONVENTIONAL_END, TYPE_RAM));
        entries.add(new Entry(CONVENTIONAL_END, EBDA_END - CONVENTIONAL_END, TYPE_RESERVED));
        entries.add(new Entry(BootLayout.FIRMWARE, BootLayout.FIRMWARE_END - BootLayout.FIRMWARE, TYPE_RESERVED));
        long lowEnd = Math.min(ramSize, MMIO_HOLE_START);
        entries.add(new Entry(BootLayout.HIGH_MEMORY, lowEnd - BootLayout.HIGH_MEMORY, TYPE_RAM));
        if (ramSize > MMIO_HOLE_END) {
            entries.add(new Entry(MMIO_HOLE_END, ramSize - MMIO_HOLE_END, TYPE_RAM));
        }
        return new E820Map(entries);
    }

    /**
     * This map with {@code [address, address+size)} added as reserved (a window such as PCI ECAM that the OS must
     * see as claimed), kept in address order. The range must not overlap RAM.
     */
    public E820Map withReserved(long address, long size) {
        for (Entry e : entries) {
            if (e.type == TYPE_RAM && address < e.end() && e.address < address + size) {
                throw new IllegalArgumentException(String.format("reserved range %#x+%#x overlaps RAM", address, size));
            }
        }
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.add(new Entry(address, size, TYPE_RESERVED));
        sorted.sort(java.util.Comparator.comparingLong(Entry::address));
        return new E820Map(sorted);
    }

    /** The end of the RAM entry that contains {@code gpa}, or -1 when {@code gpa} is not RAM. */
    public long ramEndContaining(long gpa) {
        for (Entry e : entries) {
            if (e.type == TYPE_RAM && gpa >= e.address && gpa < e.end()) {
                return e.end();
            }
        }
        return -1;
    }

    /** True when {@code [gpa, gpa+size)} lies inside one RAM entry. */
    public boolean isRam(long gpa, long size) {
        long end = ramEndContaining(gpa);
        return end >= 0 && size <= end - gpa;
    }

    /**
     * The highest page-aligned address at which {@code size} bytes of RAM fit below {@code limit} and at or above
     * {@code floor}, or -1 when none does. This is where boot loaders put the initrd.
     */
    public long highestFit(long size, long floor, long limit) {
        long best = -1;
        for (Entry e : entries) {
            if (e.type != TYPE_RAM) {
                continue;
            }
            long top = Math.min(e.end(), limit);
            long start = (top - size) & ~0xFFFL;
            if (top - e.address >= size && start >= e.address && start >= floor && start > best) {
                best = start;
            }
        }
        return best;
    }
}
