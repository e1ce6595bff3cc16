package dev.hako.vmm.boot;

import dev.hako.core.memory.GuestMemory;

/**
 * Loads a bzImage through the Linux boot protocol's 64-bit entry (Documentation/arch/x86/boot.rst, "64-bit Boot
 * Protocol" and "Sample Boot Configuration"): the protected-mode kernel goes to 1 MiB, or to pref_address when the
 * kernel is relocatable (so the decompressor need not move itself); the zero page gets a copy of the setup header,
 * the e820 map, the command line and initrd pointers and the RSDP address; the vCPU starts in long mode at
 * load address + 0x200 with RSI pointing at the zero page, CS = __BOOT_CS, DS/ES/SS = __BOOT_DS, interrupts off
 * and the low memory identity-mapped. The real-mode setup code is not used: hako has no BIOS to run it on.
 */
public final class BzImageLoader implements KernelLoader {
    /** The 64-bit entry point is this far into the protected-mode kernel. */
    public static final long ENTRY_64_OFFSET = 0x200;
    private static final long FOUR_GIB = 1L << 32;

    private final byte[] image;
    private final String name;
    private final SetupHeader header;

    public BzImageLoader(byte[] image, String name) throws KernelFormatException {
        this.image = image;
        this.name = name;
        this.header = SetupHeader.parse(image, name);
    }

    public SetupHeader header() {
        return header;
    }

    /** The kernel image without the boot sector and real-mode setup code. */
    public int protectedModeSize() {
        return image.length - header.protectedModeOffset();
    }

    public long loadAddress() {
        return header.relocatable() && header.prefAddress() >= BootLayout.HIGH_MEMORY
                ? header.prefAddress() : BootLayout.HIGH_MEMORY;
    }

    @Override
    public BootState load(GuestMemory memory, BootSpec spec) throws KernelFormatException {
        E820Map map = spec.memoryMap();
        long load = loadAddress();
        long footprint = Math.max(protectedModeSize(), header.initSize());
        if (!map.isRam(load, footprint) || !memory.contains(load, footprint)) {
            throw new KernelFormatException(String.format("%s needs %#x bytes of RAM at %#x to decompress and run, "
                    + "more than the guest's %d MiB of RAM provide", name, footprint, load, memory.size() >> 20));
        }
        memory.write(load, image, header.protectedModeOffset(), protectedModeSize());

        byte[] cmdline = spec.cmdlineBytes();
        if (cmdline.length > header.cmdlineSize()) {
            throw new KernelFormatException(name + " accepts a command line of " + header.cmdlineSize()
                    + " bytes, got " + cmdline.length);
        }
        memory.write(BootLayout.CMDLINE, cmdline, 0, cmdline.length);
        memory.write(BootLayout.CMDLINE + cmdline.length, new byte[1], 0, 1);

        BootParams params = new BootParams();
        params.putBytes(BootParams.SETUP_HEADER, image, BootParams.SETUP_HEADER,
                header.headerEnd() - BootParams.SETUP_HEADER);
        params.putU16(BootParams.VID_MODE, BootParams.VID_MODE_NORMAL)
                .putU8(BootParams.TYPE_OF_LOADER, BootParams.LOADER_UNDEFINED)
                .putU8(BootParams.LOADFLAGS, header.loadflags() | BootParams.LOADFLAGS_CAN_USE_HEAP)
                .putU16(BootParams.HEAP_END_PTR, BootParams.HEAP_END)
                .putU32(BootParams.CODE32_START, load)
                .putSplit(BootParams.CMD_LINE_PTR, BootParams.EXT_CMD_LINE_PTR, BootLayout.CMDLINE)
                .putU64(BootParams.ACPI_RSDP_ADDR, spec.rsdpGpa())
                .putE820(map);
        if (spec.hasInitrd()) {
            long initrd = placeInitrd(memory, map, spec.initrd(), load + footprint);
            params.putSplit(BootParams.RAMDISK_IMAGE, BootParams.EXT_RAMDISK_IMAGE, initrd)
                    .putSplit(BootParams.RAMDISK_SIZE, BootParams.EXT_RAMDISK_SIZE, spec.initrd().length);
        }
        memory.write(BootLayout.BOOT_PARAMS, params.bytes(), 0, BootParams.SIZE);

        Gdt gdt = Gdt.longMode();
        gdt.writeTo(memory, BootLayout.GDT);
        long cr3 = IdentityPageTables.build(memory);
        SegmentState data = gdt.segment(Gdt.BOOT_DS);
        return new BootState(BootState.Mode.LONG_MODE_64,
                load + ENTRY_64_OFFSET, BootLayout.BOOT_STACK_TOP, BootLayout.BOOT_PARAMS, 0, 0, BootState.RFLAGS_FIXED,
                BootState.CR0_PE | BootState.CR0_ET | BootState.CR0_PG, cr3, BootState.CR4_PAE,
                BootState.IA32_EFER_LME | BootState.IA32_EFER_LMA,
                gdt.register(BootLayout.GDT), new DescriptorTableState(0, 0),
                gdt.segment(Gdt.BOOT_CS), data, data, data, data, data,
                gdt.segment(Gdt.BOOT_TSS), Gdt.unusedLdt());
    }

    /** The initrd goes as high as it can below initrd_addr_max and 4 GiB, above the kernel, page aligned. */
    private long placeInitrd(GuestMemory memory, E820Map map, byte[] initrd, long kernelEnd)
            throws KernelFormatException {
        long limit = Math.min(Math.min(header.initrdAddrMax() + 1, FOUR_GIB), memory.size());
        long gpa = map.highestFit(initrd.length, kernelEnd, limit);
        if (gpa < 0) {
            throw new KernelFormatException(String.format("no room for an initrd of %d bytes between the kernel's "
                    + "end at %#x and %#x: give the guest more RAM", initrd.length, kernelEnd, limit));
        }
        memory.write(gpa, initrd, 0, initrd.length);
        return gpa;
    }
}
