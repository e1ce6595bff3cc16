package dev.hako.vmm.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The parts of a 32-bit x86 ELF executable a Multiboot loader reads (System V gABI, "ELF Header" and "Program
 * Header", ELFCLASS32 layout): the entry point and the PT_LOAD segments. Section headers are ignored.
 */
public record Elf32(long entry, List<Elf64.Segment> loadSegments) {
    public static final int EM_386 = 3;
    private static final int HEADER_BYTES = 52, PROGRAM_HEADER_BYTES = 32;

    public static boolean isElf32(byte[] file) {
        return Elf64.hasMagic(file) && file.length > 4 && file[4] == Elf64.ELFCLASS32;
    }

    /** Parses a little-endian i386 ELF32 file, naming {@code name} in errors. */
    public static Elf32 parse(byte[] file, String name) throws KernelFormatException {
        if (!isElf32(file) || file.length < HEADER_BYTES || file[5] != Elf64.ELFDATA2LSB) {
            throw new KernelFormatException(name + " is not a little-endian 32-bit ELF");
        }
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int machine = b.getShort(0x12) & 0xFFFF;
        if (machine != EM_386) {
            throw new KernelFormatException(name + " is a 32-bit ELF for machine " + machine + ", not i386 (3)");
        }
        long entry = b.getInt(0x18) & 0xFFFF_FFFFL;
        long phoff = b.getInt(0x1C) & 0xFFFF_FFFFL;
        int phentsize = b.getShort(0x2A) & 0xFFFF;
        int phnum = b.getShort(0x2C) & 0xFFFF;
        if (phnum == 0 || phentsize < PROGRAM_HEADER_BYTES || phoff + (long) phnum * phentsize > file.length) {
            throw new KernelFormatException(name + " has no valid program headers (" + phnum + " at " + phoff + ")");
        }
        List<Elf64.Segment> segments = new ArrayList<>();
        for (int i = 0; i < phnum; i++) {
            int ph = (int) (phoff + (long) i * phentsize);
            Elf64.Segment s = new Elf64.Segment(b.getInt(ph), u32(b, ph + 4), u32(b, ph + 8), u32(b, ph + 12),
                    u32(b, ph + 16), u32(b, ph + 20));
            if (s.type() != Elf64.PT_LOAD || s.memSize() == 0) {
                continue;
            }
            if (s.offset() + s.fileSize() > file.length || s.memSize() < s.fileSize()) {
                throw new KernelFormatException(name + ": program header " + i + " points outside the file");
            }
            segments.add(s);
        }
        if (segments.isEmpty()) {
            throw new KernelFormatException(name + " has no PT_LOAD segments");
        }
        return new Elf32(entry, List.copyOf(segments));
    }

    /**
     * The entry point as a physical address: e_entry is a virtual address, so when it lies in a segment loaded
     * elsewhere than it is linked (p_paddr differs from p_vaddr, a higher-half kernel) it is moved with that
     * segment, as GRUB and QEMU do.
     */
    public long physicalEntry() {
        for (Elf64.Segment s : loadSegments) {
            if (s.vaddr() != s.paddr() && entry >= s.vaddr() && entry < s.vaddr() + s.memSize()) {
                return entry - s.vaddr() + s.paddr();
            }
        }
        return entry;
    }

    private static long u32(ByteBuffer b, int at) {
        return b.getInt(at) & 0xFFFF_FFFFL;
    }
}
