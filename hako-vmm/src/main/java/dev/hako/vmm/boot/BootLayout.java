package dev.hako.vmm.boot;

/**
 * Where the loaders put their structures in low guest memory. Everything lives below 1 MiB, which Linux reserves
 * for itself at boot (arch/x86/kernel/setup.c: the first 1 MiB is never handed to the page allocator), so the
 * kernel cannot overwrite the structures before it has read them. 0xE0000-0xFFFFF is left to the firmware
 * (ACPI) tables, where the BIOS search for the RSDP looks.
 */
public final class BootLayout {
    /** Flat GDT for both entry protocols (a few descriptors). */
    public static final long GDT = 0x500;
    /** PVH hvm_start_info, followed by its module list and memory map. */
    public static final long PVH_START_INFO = 0x6000;
    /** The zero page (struct boot_params). */
    public static final long BOOT_PARAMS = 0x7000;
    /** Initial stack pointer: top of the page between boot_params and the page tables. */
    public static final long BOOT_STACK_TOP = 0x8FF0;
    /** Identity page tables: PML4, then the PDPT, then the page directories, up to {@link #PAGE_TABLES_END}. */
    public static final long PAGE_TABLES = 0x9000;
    public static final long PAGE_TABLES_END = 0x20000;
    /**
     * The Multiboot information, its memory map and its module list, in the page tables' place: a Multiboot
     * kernel starts with paging off, so hako builds no page tables for it.
     */
    public static final long MULTIBOOT_INFO = PAGE_TABLES;
    public static final long MULTIBOOT_MMAP = PAGE_TABLES + 0x100;
    public static final long MULTIBOOT_MODULES = PAGE_TABLES + 0x800;
    /** Kernel command line, NUL-terminated (for Multiboot, followed by the module strings). */
    public static final long CMDLINE = 0x20000;
    public static final int CMDLINE_MAX = 0x10000;
    /** The BIOS read-only area; ACPI tables go here. */
    public static final long FIRMWARE = 0xE0000;
    public static final long FIRMWARE_END = 0x100000;
    /** The traditional protected-mode kernel load address. */
    public static final long HIGH_MEMORY = 0x100000;

    private BootLayout() {
    }
}
