package dev.hako.vmm.boot;

import dev.hako.core.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The parts of an ELF64 executable a kernel loader reads (System V gABI, "ELF Header", "Program Header", "Note
 * Section"): the header, the program headers and the notes in PT_NOTE segments. Section headers are ignored.
 */
public record Elf64(int type, int machine, long entry, List<Segment> segments, List<Note> notes) {
    public static final int ELFCLASS32 = 1, ELFCLASS64 = 2, ELFDATA2LSB = 1;
    public static final int ET_EXEC = 2, EM_X86_64 = 62;
    public static final int PT_LOAD = 1, PT_INTERP = 3, PT_NOTE = 4;

    public record Segment(int type, long offset, long vaddr, long paddr, long fileSize, long memSize) {
        /**
         * Copies the segment from {@code file} to its physical address and zeroes the rest of its memory size;
         * returns its end. It must lie in one RAM entry of {@code map} and in {@code memory} ({@code name} is the
         * kernel's, for the message).
         */
        public long loadInto(GuestMemory memory, E820Map map, byte[] file, String name) throws KernelFormatException {
            if (!map.isRam(paddr, memSize) || !memory.contains(paddr, memSize)) {
                throw new KernelFormatException(String.format("%s: segment at %#x of %#x bytes is not in guest RAM "
                        + "(%d MiB)", name, paddr, memSize, memory.size() >> 20));
            }
            memory.write(paddr, file, (int) offset, (int) fileSize);
            memory.fill(paddr + fileSize, memSize - fileSize, (byte) 0);
            return paddr + memSize;
        }
    }

    public record Note(String name, int type, byte[] desc) {
    }

    public static boolean hasMagic(byte[] file) {
        return file.length >= 4 && file[0] == 0x7F && file[1] == 'E' && file[2] == 'L' && file[3] == 'F';
    }

    /** Parses a little-endian x86-64 ELF64 file, naming {@code name} in errors. */
    public static Elf64 parse(byte[] file, String name) throws KernelFormatException {
        if (!hasMagic(file) || file.length < 64) {
            throw new KernelFormatException(name + " is not an ELF file");
        }
        if (file[4] == ELFCLASS32) {
            throw new KernelFormatException(name + " is a 32-bit ELF (ELFCLASS32) without a Multiboot header: hako "
                    + "boots 64-bit x86 kernels, and 32-bit ones through Multiboot");
        }
        if (file[4] != ELFCLASS64 || file[5] != ELFDATA2LSB) {
            throw new KernelFormatException(name + " is an ELF of class " + file[4] + ", data encoding " + file[5]
                    + ": hako boots little-endian ELF64");
        }
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int type = b.getShort(0x10) & 0xFFFF;
        int machine = b.getShort(0x12) & 0xFFFF;
        if (machine != EM_X86_64) {
            throw new KernelFormatException(name + " is an ELF64 for machine " + machine + ", not x86-64 (62)");
        }
        long phoff = b.getLong(0x20);
        int phentsize = b.getShort(0x36) & 0xFFFF;
        int phnum = b.getShort(0x38) & 0xFFFF;
        if (phnum == 0 || phentsize < 56 || phoff < 0 || phoff + (long) phnum * phentsize > file.length) {
            throw new KernelFormatException(name + " has no valid program headers (" + phnum + " at " + phoff + ")");
        }
        List<Segment> segments = new ArrayList<>();
        List<Note> notes = new ArrayList<>();
        for (int i = 0; i < phnum; i++) {
            int ph = (int) (phoff + (long) i * phentsize);
            Segment s = new Segment(b.getInt(ph), b.getLong(ph + 8), b.getLong(ph + 0x10), b.getLong(ph + 0x18),
                    b.getLong(ph + 0x20), b.getLong(ph + 0x28));
            if (s.offset < 0 || s.fileSize < 0 || s.offset + s.fileSize > file.length || s.memSize < s.fileSize) {
                throw new KernelFormatException(name + ": program header " + i + " points outside the file");
            }
            segments.add(s);
            if (s.type == PT_NOTE) {
                readNotes(b, (int) s.offset, (int) (s.offset + s.fileSize), notes);
            }
        }
        return new Elf64(type, machine, b.getLong(0x18), List.copyOf(segments), List.copyOf(notes));
    }

    private static void readNotes(ByteBuffer b, int at, int end, List<Note> notes) {
        while (at + 12 <= end) {
            int nameSize = b.getInt(at), descSize = b.getInt(at + 4), type = b.getInt(at + 8);
            int nameAt = at + 12;
            int descAt = nameAt + align4(nameSize);
            if (nameSize < 0 || descSize < 0 || descAt + (long) descSize > end) {
                return;
            }
            byte[] nameBytes = new byte[Math.max(0, nameSize - 1)];  // without the NUL
            b.get(nameAt, nameBytes);
            byte[] desc = new byte[descSize];
            b.get(descAt, desc);
            notes.add(new Note(new String(nameBytes, StandardCharsets.US_ASCII), type, desc));
            at = descAt + align4(descSize);
        }
    }

    private static int align4(int n) {
        return (n + 3) & ~3;
    }

    public Optional<Note> note(String name, int type) {
        return notes.stream().filter(n -> n.name.equals(name) && n.type == type).findFirst();
    }

    public List<Segment> loadSegments() {
        return segments.stream().filter(s -> s.type == PT_LOAD).toList();
    }
}
