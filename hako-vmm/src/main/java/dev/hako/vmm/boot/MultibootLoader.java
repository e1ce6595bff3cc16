package dev.hako.vmm.boot;

import dev.hako.core.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Boots a Multiboot (version 1) kernel as {@code qemu-system-x86_64 -kernel} does (Multiboot Specification
 * 0.6.96; QEMU hw/i386/multiboot.c): a 32-bit ELF whose PT_LOAD segments go to their physical addresses, or any
 * image whose header has flag bit 16 (the "a.out kludge"), loaded from the header's offset less
 * {@code header_addr - load_addr} to {@code load_addr}, up to {@code load_end_addr} (0: the end of the file) and
 * zeroed up to {@code bss_end_addr}. Modules follow the kernel, each page aligned; the information structure
 * (3.3) has mem_lower and mem_upper, the kernel's command line (the kernel's file name, a space and the command
 * line, as QEMU writes it), the modules with their strings, the memory map (the machine's E820 map) and the boot
 * loader's name. The vCPU starts at the entry in the state of 3.2, "Machine state": EAX 0x2BADB002, EBX the
 * information's address, 32-bit protected mode with paging off, flat 4 GiB code and data segments, IF clear.
 *
 * <p>Not provided: the boot device (hako has no BIOS disks), the ELF section table, the APM table, the drives
 * and configuration tables, and the graphics fields: a header that asks for a video mode (flag bit 2) boots
 * without one, as under QEMU. A header requiring anything else the specification does not define (bits 3-15) is
 * refused, as 3.1.2 asks.
 */
public final class MultibootLoader implements KernelLoader {
    private static final long FOUR_GIB = 1L << 32;
    private static final long PAGE = 4096;
    private static final String LOADER_NAME = "hako";
    /** The structures in low memory the kernel must not overlap: GDT, stack, information and strings. */
    private static final long LOW_STRUCTURES_END = BootLayout.CMDLINE + BootLayout.CMDLINE_MAX;
    private static final int MAX_MMAP_ENTRIES = (int) (BootLayout.MULTIBOOT_MODULES - BootLayout.MULTIBOOT_MMAP)
            / Multiboot.MMAP_ENTRY_BYTES;
    /** How many modules fit in the module list's space, below the strings. */
    public static final int MAX_MODULES = (int) (BootLayout.PAGE_TABLES_END - BootLayout.MULTIBOOT_MODULES)
            / Multiboot.MODULE_BYTES;

    private final byte[] file;
    private final String name;
    /** The pieces of the file to copy into guest memory (for the a.out kludge, one). */
    private final List<Elf64.Segment> segments;
    private final long entry;

    public MultibootLoader(byte[] file, String name, MultibootHeader header) throws KernelFormatException {
        this.file = file;
        this.name = name;
        int unknown = header.flags() & Multiboot.HEADER_REQUIRED_MASK
                & ~(Multiboot.HEADER_PAGE_ALIGN | Multiboot.HEADER_MEMORY_INFO | Multiboot.HEADER_VIDEO_MODE);
        if (unknown != 0) {
            throw new KernelFormatException(String.format("%s: its Multiboot header requires features %#x that "
                    + "the Multiboot specification 0.6.96 does not define (flags %#x)", name, unknown, header.flags()));
        }
        if (header.aoutKludge()) {
            this.segments = List.of(kludgeSegment(header));
            this.entry = header.entryAddr();
        } else if (Elf32.isElf32(file)) {
            Elf32 elf = Elf32.parse(file, name);
            this.segments = elf.loadSegments();
            this.entry = elf.physicalEntry();
        } else if (Elf64.hasMagic(file)) {
            throw new KernelFormatException(name + " is a 64-bit ELF with a Multiboot header: a Multiboot kernel is "
                    + "a 32-bit ELF (or sets the header's address fields, flag bit 16)");
        } else {
            throw new KernelFormatException(name + " has a Multiboot header at offset " + header.offset()
                    + " without load addresses (flag bit 16 clear) and is not an ELF: hako cannot tell where it "
                    + "loads");
        }
        for (Elf64.Segment c : segments) {
            if (c.paddr() + c.memSize() > FOUR_GIB) {
                throw new KernelFormatException(String.format("%s: its image at %#x of %#x bytes reaches beyond "
                        + "4 GiB", name, c.paddr(), c.memSize()));
            }
        }
    }

    /** The a.out kludge: one piece of the file, placed by the header's address fields (3.1.3). */
    private Elf64.Segment kludgeSegment(MultibootHeader h) throws KernelFormatException {
        if (h.headerAddr() < 0) {
            throw new KernelFormatException(name + ": its Multiboot header at offset " + h.offset()
                    + " sets flag bit 16 but the file ends before the address fields");
        }
        if (h.headerAddr() < h.loadAddr() || h.headerAddr() - h.loadAddr() > h.offset()) {
            throw new KernelFormatException(String.format("%s: Multiboot header_addr %#x and load_addr %#x put the "
                    + "start of the image before the start of the file (the header is at offset %d)", name,
                    h.headerAddr(), h.loadAddr(), h.offset()));
        }
        long offset = h.offset() - (h.headerAddr() - h.loadAddr());
        long loadSize;
        if (h.loadEndAddr() == 0) {
            loadSize = file.length - offset;
        } else if (h.loadEndAddr() < h.loadAddr() || offset + h.loadEndAddr() - h.loadAddr() > file.length) {
            throw new KernelFormatException(String.format("%s: Multiboot load_end_addr %#x is before load_addr %#x "
                    + "or past the end of the file (%d bytes)", name, h.loadEndAddr(), h.loadAddr(), file.length));
        } else {
            loadSize = h.loadEndAddr() - h.loadAddr();
        }
        long memSize = loadSize;
        if (h.bssEndAddr() != 0) {
            if (h.bssEndAddr() < h.loadAddr() + loadSize) {
                throw new KernelFormatException(String.format("%s: Multiboot bss_end_addr %#x is before the end of "
                        + "the loaded image at %#x", name, h.bssEndAddr(), h.loadAddr() + loadSize));
            }
            memSize = h.bssEndAddr() - h.loadAddr();
        }
        if (h.entryAddr() < h.loadAddr() || h.entryAddr() >= h.loadAddr() + memSize) {
            throw new KernelFormatException(String.format("%s: Multiboot entry_addr %#x is outside the image "
                    + "loaded at %#x..%#x", name, h.entryAddr(), h.loadAddr(), h.loadAddr() + memSize));
        }
        return new Elf64.Segment(Elf64.PT_LOAD, offset, h.loadAddr(), h.loadAddr(), loadSize, memSize);
    }

    public long entry() {
        return entry;
    }

    @Override
    public BootState load(GuestMemory memory, BootSpec spec) throws KernelFormatException {
        E820Map map = spec.memoryMap();
        long kernelEnd = 0;
        for (Elf64.Segment c : segments) {
            if (c.paddr() < LOW_STRUCTURES_END && c.paddr() + c.memSize() > BootLayout.GDT) {
                throw new KernelFormatException(String.format("%s: its image at %#x of %#x bytes overlaps where hako "
                        + "puts the Multiboot information (%#x..%#x); load it at 1 MiB or above", name, c.paddr(),
                        c.memSize(), BootLayout.GDT, LOW_STRUCTURES_END));
            }
            kernelEnd = Math.max(kernelEnd, c.loadInto(memory, map, file, name));
        }
        if (map.entries().size() > MAX_MMAP_ENTRIES) {
            throw new IllegalArgumentException("memory map has more than " + MAX_MMAP_ENTRIES + " entries");
        }
        if (spec.modules().size() > MAX_MODULES) {
            throw new KernelFormatException(spec.modules().size() + " Multiboot modules: hako passes at most "
                    + MAX_MODULES);
        }

        Strings strings = new Strings(memory);
        long cmdline = strings.put(name + " " + spec.cmdline());
        long loaderName = strings.put(LOADER_NAME);
        ByteBuffer list = ByteBuffer.allocate(spec.modules().size() * Multiboot.MODULE_BYTES)
                .order(ByteOrder.LITTLE_ENDIAN);
        long next = align(kernelEnd);
        for (BootModule module : spec.modules()) {
            long size = module.data().length;
            if (!fits(map, memory, next, size)) {
                next = Math.max(next, BootLayout.HIGH_MEMORY); // a kernel below 1 MiB: its modules go above
            }
            if (!fits(map, memory, next, size)) {
                throw new KernelFormatException(String.format("no room for Multiboot module '%s' (%d bytes) at %#x "
                        + "after the kernel and the modules before it: give the guest more RAM", module.string(),
                        size, next));
            }
            memory.write(next, module.data(), 0, module.data().length);
            list.putInt((int) next).putInt((int) (next + size)).putInt((int) strings.put(module.string())).putInt(0);
            next = align(next + size);
        }
        memory.write(BootLayout.MULTIBOOT_MODULES, list.array(), 0, list.capacity());

        ByteBuffer mmap = ByteBuffer.allocate(map.entries().size() * Multiboot.MMAP_ENTRY_BYTES)
                .order(ByteOrder.LITTLE_ENDIAN);
        for (E820Map.Entry e : map.entries()) {
            mmap.putInt(Multiboot.MMAP_ENTRY_BYTES - 4).putLong(e.address()).putLong(e.size()).putInt(e.type());
        }
        memory.write(BootLayout.MULTIBOOT_MMAP, mmap.array(), 0, mmap.capacity());

        long lowerEnd = Math.max(0, map.ramEndContaining(0));
        long upperEnd = map.ramEndContaining(BootLayout.HIGH_MEMORY);
        ByteBuffer info = ByteBuffer.allocate(Multiboot.INFO_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        info.putInt(Multiboot.INFO_FLAGS, Multiboot.INFO_MEMORY | Multiboot.INFO_CMDLINE_VALID | Multiboot.INFO_MODS
                        | Multiboot.INFO_MEM_MAP | Multiboot.INFO_BOOT_LOADER_NAME_VALID)
                .putInt(Multiboot.INFO_MEM_LOWER, (int) (Math.min(lowerEnd, Multiboot.LOWER_MEMORY_LIMIT) >> 10))
                .putInt(Multiboot.INFO_MEM_UPPER, (int) (Math.max(0, upperEnd - BootLayout.HIGH_MEMORY) >> 10))
                .putInt(Multiboot.INFO_CMDLINE, (int) cmdline)
                .putInt(Multiboot.INFO_MODS_COUNT, spec.modules().size())
                .putInt(Multiboot.INFO_MODS_ADDR, (int) BootLayout.MULTIBOOT_MODULES)
                .putInt(Multiboot.INFO_MMAP_LENGTH, mmap.capacity())
                .putInt(Multiboot.INFO_MMAP_ADDR, (int) BootLayout.MULTIBOOT_MMAP)
                .putInt(Multiboot.INFO_BOOT_LOADER_NAME, (int) loaderName);
        memory.write(BootLayout.MULTIBOOT_INFO, info.array(), 0, info.capacity());

        return BootState.protectedMode(memory, entry, Multiboot.BOOTLOADER_MAGIC & 0xFFFF_FFFFL,
                BootLayout.MULTIBOOT_INFO);
    }

    private static boolean fits(E820Map map, GuestMemory memory, long gpa, long size) {
        return map.isRam(gpa, Math.max(size, 1)) && gpa + size <= Math.min(FOUR_GIB, memory.size());
    }

    private static long align(long gpa) {
        return (gpa + PAGE - 1) & -PAGE;
    }

    /** NUL-terminated strings one after another in the command line's area. */
    private static final class Strings {
        private final GuestMemory memory;
        private long next = BootLayout.CMDLINE;

        Strings(GuestMemory memory) {
            this.memory = memory;
        }

        long put(String text) throws KernelFormatException {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            if (next + bytes.length + 1 > BootLayout.CMDLINE + BootLayout.CMDLINE_MAX) {
                throw new KernelFormatException("the Multiboot command line and module strings together are longer "
                        + "than " + BootLayout.CMDLINE_MAX + " bytes");
            }
            long at = next;
            memory.write(at, bytes, 0, bytes.length);
            memory.setU8(at + bytes.length, 0);
            next += bytes.length + 1;
            return at;
        }
    }
}
