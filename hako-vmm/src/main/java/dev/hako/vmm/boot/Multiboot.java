package dev.hako.vmm.boot;

/**
 * The numbers of the Multiboot Specification version 0.6.96: the OS image's header (section 3.1.1, "The layout
 * of Multiboot header"; 3.1.2-3.1.4 for its fields), the value in EAX at entry (3.2, "Machine state") and the
 * boot information structure (3.3, "Boot information format") with its module and memory map entries. All
 * fields are little-endian; offsets are in bytes.
 */
public final class Multiboot {
    /** The header's first field; the header lies 32-bit aligned in the image's first 8192 bytes. */
    public static final int HEADER_MAGIC = 0x1BAD_B002;
    public static final int HEADER_SEARCH_BYTES = 8192;
    /** magic, flags, checksum; the address fields follow when {@link #HEADER_AOUT_KLUDGE} is set. */
    public static final int HEADER_FLAGS = 4;
    public static final int HEADER_CHECKSUM = 8;
    public static final int HEADER_HEADER_ADDR = 12;
    public static final int HEADER_LOAD_ADDR = 16;
    public static final int HEADER_LOAD_END_ADDR = 20;
    public static final int HEADER_BSS_END_ADDR = 24;
    public static final int HEADER_ENTRY_ADDR = 28;
    /** The header up to entry_addr; the video fields (32-47) are read only with {@link #HEADER_VIDEO_MODE}. */
    public static final int HEADER_WITH_ADDRESSES = 32;

    /** Flag bit 0: modules must be page (4 KiB) aligned. */
    public static final int HEADER_PAGE_ALIGN = 1;
    /** Flag bit 1: mem_* (and the memory map, if the loader has one) must be provided. */
    public static final int HEADER_MEMORY_INFO = 1 << 1;
    /** Flag bit 2: the video mode table must be provided. */
    public static final int HEADER_VIDEO_MODE = 1 << 2;
    /** Bits 0-15 are requirements: a loader that does not know one must refuse the image. */
    public static final int HEADER_REQUIRED_MASK = 0xFFFF;
    /** Flag bit 16: the address fields say where to load the image (the "a.out kludge"), not its ELF headers. */
    public static final int HEADER_AOUT_KLUDGE = 1 << 16;

    /** EAX at entry: the kernel was loaded by a Multiboot-compliant boot loader. */
    public static final int BOOTLOADER_MAGIC = 0x2BAD_B002;

    public static final int INFO_FLAGS = 0;
    public static final int INFO_MEM_LOWER = 4;
    public static final int INFO_MEM_UPPER = 8;
    public static final int INFO_BOOT_DEVICE = 12;
    public static final int INFO_CMDLINE = 16;
    public static final int INFO_MODS_COUNT = 20;
    public static final int INFO_MODS_ADDR = 24;
    public static final int INFO_MMAP_LENGTH = 44;
    public static final int INFO_MMAP_ADDR = 48;
    public static final int INFO_BOOT_LOADER_NAME = 64;
    /** Up to and including the VBE fields (72-87); hako leaves those zero. */
    public static final int INFO_SIZE = 88;

    /** Info flag bit 0: mem_lower and mem_upper are valid. */
    public static final int INFO_MEMORY = 1;
    /** Info flag bit 2: cmdline is valid. */
    public static final int INFO_CMDLINE_VALID = 1 << 2;
    /** Info flag bit 3: mods_count and mods_addr are valid. */
    public static final int INFO_MODS = 1 << 3;
    /** Info flag bit 6: mmap_length and mmap_addr are valid. */
    public static final int INFO_MEM_MAP = 1 << 6;
    /** Info flag bit 9: boot_loader_name is valid. */
    public static final int INFO_BOOT_LOADER_NAME_VALID = 1 << 9;

    /** A module: mod_start, mod_end (exclusive), string, reserved. */
    public static final int MODULE_START = 0;
    public static final int MODULE_END = 4;
    public static final int MODULE_STRING = 8;
    public static final int MODULE_BYTES = 16;

    /**
     * A memory map entry: size (of the rest of the entry, not counting this field), base_addr, length, type.
     * Types are the E820 numbers.
     */
    public static final int MMAP_SIZE = 0;
    public static final int MMAP_BASE_ADDR = 4;
    public static final int MMAP_LENGTH = 12;
    public static final int MMAP_TYPE = 20;
    public static final int MMAP_ENTRY_BYTES = 24;

    /** mem_lower counts from 0 and never beyond 640 KiB; mem_upper from 1 MiB to the first hole. */
    public static final long LOWER_MEMORY_LIMIT = 640 << 10;

    private Multiboot() {
    }
}
