package dev.hako.usermode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A static x86-64 ELF executable (System V gABI, ch. 4-5; x86-64 psABI 3.4): {@code ET_EXEC}, or a static-pie
 * {@code ET_DYN} without {@code PT_INTERP}. Everything a loader trusts is validated when parsing, so a
 * malformed file gives an {@link ElfException} with a clear message, never a host exception or a bad
 * mapping. Dynamic executables (with an interpreter) are refused: there is no dynamic loader in user mode.
 */
final class ElfImage {
    static final int ET_EXEC = 2, ET_DYN = 3;
    static final int PT_LOAD = 1, PT_INTERP = 3, PT_PHDR = 6;
    static final int PF_X = 1, PF_W = 2, PF_R = 4;
    private static final int EM_X86_64 = 62;
    private static final int EHDR_SIZE = 64, PHDR_SIZE = 56;

    /** One PT_LOAD segment. */
    record Segment(long offset, long vaddr, long fileSize, long memSize, int flags) {}

    final byte[] file;
    final int type;
    final long entry;
    final long phoff;
    final int phnum;
    final List<Segment> loads;
    /** Lowest and highest (exclusive, page-rounded) addresses of the loadable segments, before relocation. */
    final long lowest, highest;
    /** Address of the program headers in the loaded image, before relocation; 0 if not loaded. */
    final long phdrAddress;

    private ElfImage(byte[] file, int type, long entry, long phoff, int phnum, List<Segment> loads, long lowest,
            long highest, long phdrAddress) {
        this.file = file;
        this.type = type;
        this.entry = entry;
        this.phoff = phoff;
        this.phnum = phnum;
        this.loads = loads;
        this.lowest = lowest;
        this.highest = highest;
        this.phdrAddress = phdrAddress;
    }

    static ElfImage read(Path path) throws ElfException {
        byte[] bytes;
        try {
            if (Files.isDirectory(path)) {
                throw new ElfException(path + ": is a directory");
            }
            bytes = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new ElfException(path + ": no such file", true);
        } catch (IOException e) {
            throw new ElfException(path + ": cannot read: " + e.getMessage());
        } catch (OutOfMemoryError e) {
            throw new ElfException(path + ": too large");
        }
        return parse(path.toString(), bytes);
    }

    static ElfImage parse(String name, byte[] bytes) throws ElfException {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 4 || bytes[0] != 0x7F || bytes[1] != 'E' || bytes[2] != 'L' || bytes[3] != 'F') {
            throw new ElfException(name + ": not an ELF file");
        }
        if (bytes.length < EHDR_SIZE) {
            throw new ElfException(name + ": truncated ELF header");
        }
        if (bytes[4] != 2) {
            throw new ElfException(name + ": not a 64-bit ELF file (class " + bytes[4] + ")");
        }
        if (bytes[5] != 1) {
            throw new ElfException(name + ": not a little-endian ELF file");
        }
        int machine = b.getShort(18) & 0xFFFF;
        if (machine != EM_X86_64) {
            throw new ElfException(name + ": not an x86-64 program (e_machine " + machine + ")");
        }
        int type = b.getShort(16) & 0xFFFF;
        if (type != ET_EXEC && type != ET_DYN) {
            throw new ElfException(name + ": not an executable (e_type " + type + ")");
        }
        long entry = b.getLong(24);
        long phoff = b.getLong(32);
        int phentsize = b.getShort(54) & 0xFFFF;
        int phnum = b.getShort(56) & 0xFFFF;
        if (phentsize != PHDR_SIZE) {
            throw new ElfException(name + ": bad program header size " + phentsize);
        }
        if (phnum == 0 || phoff < 0 || phoff > bytes.length || (long) phnum * PHDR_SIZE > bytes.length - phoff) {
            throw new ElfException(name + ": program headers lie outside the file");
        }
        List<Segment> loads = new ArrayList<>();
        long phdrAddress = 0;
        long lowest = Long.MAX_VALUE, highest = 0;
        for (int k = 0; k < phnum; k++) {
            int h = (int) (phoff + (long) k * PHDR_SIZE);
            int ptype = b.getInt(h);
            int flags = b.getInt(h + 4);
            long offset = b.getLong(h + 8), vaddr = b.getLong(h + 16);
            long fileSize = b.getLong(h + 32), memSize = b.getLong(h + 40);
            switch (ptype) {
                case PT_INTERP -> throw new ElfException(name + ": dynamically linked (it asks for an interpreter);"
                        + " only static executables run in user mode");
                case PT_PHDR -> phdrAddress = vaddr;
                case PT_LOAD -> {
                    if (offset < 0 || fileSize < 0 || offset > bytes.length || fileSize > bytes.length - offset) {
                        throw new ElfException(name + ": segment " + k + " lies outside the file");
                    }
                    if (memSize < fileSize) {
                        throw new ElfException(name + ": segment " + k + " is smaller in memory than in the file");
                    }
                    if (vaddr < 0 || memSize > AddressSpace.SIZE || vaddr > AddressSpace.SIZE - memSize) {
                        throw new ElfException(name + String.format(
                                ": segment %d at %#x (+%#x) is outside the %d GiB guest address space", k, vaddr,
                                memSize, AddressSpace.SIZE >> 30));
                    }
                    if ((vaddr & 0xFFF) != (offset & 0xFFF)) {
                        throw new ElfException(name + ": segment " + k + " is not page-congruent with its offset");
                    }
                    if (memSize > 0) {
                        loads.add(new Segment(offset, vaddr, fileSize, memSize, flags));
                        lowest = Math.min(lowest, vaddr & ~0xFFFL);
                        highest = Math.max(highest, (vaddr + memSize + 0xFFF) & ~0xFFFL);
                    }
                }
                default -> { }
            }
        }
        if (loads.isEmpty()) {
            throw new ElfException(name + ": no loadable segment");
        }
        if (phdrAddress == 0) {
            for (Segment s : loads) {
                if (phoff >= s.offset && phoff + (long) phnum * PHDR_SIZE <= s.offset + s.fileSize) {
                    phdrAddress = s.vaddr + (phoff - s.offset);
                }
            }
        }
        boolean entryLoaded = false;
        for (Segment s : loads) {
            entryLoaded |= entry >= s.vaddr && entry < s.vaddr + s.memSize && (s.flags & PF_X) != 0;
        }
        if (!entryLoaded) {
            throw new ElfException(name + String.format(": entry point %#x is not in an executable segment", entry));
        }
        return new ElfImage(bytes, type, entry, phoff, phnum, loads, lowest, highest, phdrAddress);
    }

    /**
     * Copies the segments into {@code space} displaced by {@code bias} (0 for ET_EXEC) with their protections.
     * Pages shared by two segments get the union of both protections, as the ELF's page-level layout implies.
     */
    void load(AddressSpace space, long bias) {
        for (Segment s : loads) {
            long start = (s.vaddr + bias) & ~0xFFFL;
            long end = (s.vaddr + bias + s.memSize + 0xFFF) & ~0xFFFL;
            int prot = ((s.flags & PF_R) != 0 ? AddressSpace.READ : 0) | ((s.flags & PF_W) != 0 ? AddressSpace.WRITE : 0)
                    | ((s.flags & PF_X) != 0 ? AddressSpace.EXEC : 0);
            for (long page = start; page < end; page += AddressSpace.PAGE) {
                int old = space.protection(page);
                space.setProtection(page, AddressSpace.PAGE, prot | (old & 7));
            }
            // The file bytes from the start of the first page up to the end of the file part, as mmap would
            // show them; the rest of the segment stays zero (bss).
            long pageLead = (s.vaddr + bias) - start;
            long fileFrom = s.offset - pageLead;
            long length = s.fileSize + pageLead;
            if (fileFrom < 0) {
                fileFrom = s.offset;
                length = s.fileSize;
                start = s.vaddr + bias;
            }
            space.writeBytes(start, file, (int) fileFrom, (int) length);
        }
    }
}
