package dev.hako.vmm.boot;

/**
 * Layout of the PVH start of day structures (Xen, xen/include/public/arch-x86/hvm/start_info.h): struct
 * hvm_start_info (version 1, with the memory map fields), struct hvm_modlist_entry and struct
 * hvm_memmap_table_entry. Memory map types are the E820 numbers.
 */
public final class HvmStartInfo {
    public static final int MAGIC_VALUE = 0x336E_C578;
    public static final int VERSION_WITH_MEMMAP = 1;

    public static final int MAGIC = 0;            // u32
    public static final int VERSION = 4;          // u32
    public static final int FLAGS = 8;            // u32
    public static final int NR_MODULES = 12;      // u32
    public static final int MODLIST_PADDR = 16;   // u64
    public static final int CMDLINE_PADDR = 24;   // u64
    public static final int RSDP_PADDR = 32;      // u64
    public static final int MEMMAP_PADDR = 40;    // u64, version 1
    public static final int MEMMAP_ENTRIES = 48;  // u32, version 1
    public static final int SIZE = 56;

    public static final int MODLIST_ENTRY_PADDR = 0;    // u64
    public static final int MODLIST_ENTRY_SIZE = 8;     // u64
    public static final int MODLIST_ENTRY_CMDLINE = 16; // u64
    public static final int MODLIST_ENTRY_BYTES = 32;

    public static final int MEMMAP_ENTRY_ADDR = 0;      // u64
    public static final int MEMMAP_ENTRY_SIZE = 8;      // u64
    public static final int MEMMAP_ENTRY_TYPE = 16;     // u32
    public static final int MEMMAP_ENTRY_BYTES = 24;

    /** Where hako puts the module list and the memory map, relative to the start info. */
    public static final int MODLIST_OFFSET = 0x40;
    public static final int MEMMAP_OFFSET = 0x80;

    /** Xen ELF note "Xen" type 18: the 32-bit physical PVH entry point (xen/include/public/elfnote.h). */
    public static final String XEN_NOTE_NAME = "Xen";
    public static final int XEN_ELFNOTE_PHYS32_ENTRY = 18;

    private HvmStartInfo() {
    }
}
