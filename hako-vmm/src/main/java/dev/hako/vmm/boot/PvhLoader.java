package dev.hako.vmm.boot;

import dev.hako.core.memory.GuestMemory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Boots an uncompressed ELF64 vmlinux through its Xen PVH entry (Xen docs/misc/pvh.pandoc, "PVH entry point";
 * Linux arch/x86/platform/pvh): PT_LOAD segments go to their physical addresses; an hvm_start_info (version 1)
 * carries the command line, the initrd as the one module, the memory map and the RSDP; the vCPU starts at the
 * XEN_ELFNOTE_PHYS32_ENTRY address in 32-bit protected mode with paging off, EBX pointing at the start info,
 * flat 32-bit CS/DS/ES/SS, an active 32-bit TSS and IF clear.
 */
public final class PvhLoader implements KernelLoader {
    private static final long FOUR_GIB = 1L << 32;

    private final byte[] file;
    private final String name;
    private final Elf64 elf;
    private final long entry;

    public PvhLoader(byte[] file, String name) throws KernelFormatException {
        this.file = file;
        this.name = name;
        this.elf = Elf64.parse(file, name);
        Elf64.Note note = elf.note(HvmStartInfo.XEN_NOTE_NAME, HvmStartInfo.XEN_ELFNOTE_PHYS32_ENTRY)
                .orElseThrow(() -> new KernelFormatException(name + " is an x86-64 ELF without a PVH entry note "
                        + "(Xen note 18, XEN_ELFNOTE_PHYS32_ENTRY): build it with CONFIG_PVH=y, or pass the bzImage"));
        if (note.desc().length != 4 && note.desc().length != 8) {
            throw new KernelFormatException(name + ": PVH entry note has a " + note.desc().length + "-byte address");
        }
        ByteBuffer desc = ByteBuffer.wrap(note.desc()).order(ByteOrder.LITTLE_ENDIAN);
        this.entry = note.desc().length == 4 ? desc.getInt(0) & 0xFFFF_FFFFL : desc.getLong(0);
        if (entry >= FOUR_GIB) {
            throw new KernelFormatException(String.format("%s: PVH entry %#x is above 4 GiB", name, entry));
        }
        if (elf.loadSegments().isEmpty()) {
            throw new KernelFormatException(name + " has no PT_LOAD segments");
        }
    }

    public long entry() {
        return entry;
    }

    public Elf64 elf() {
        return elf;
    }

    @Override
    public BootState load(GuestMemory memory, BootSpec spec) throws KernelFormatException {
        E820Map map = spec.memoryMap();
        long kernelEnd = 0;
        for (Elf64.Segment s : elf.loadSegments()) {
            kernelEnd = Math.max(kernelEnd, s.loadInto(memory, map, file, name));
        }

        byte[] cmdline = spec.cmdlineBytes();
        memory.write(BootLayout.CMDLINE, cmdline, 0, cmdline.length);
        memory.write(BootLayout.CMDLINE + cmdline.length, new byte[1], 0, 1);

        int memmapCapacity = (4096 - HvmStartInfo.MEMMAP_OFFSET) / HvmStartInfo.MEMMAP_ENTRY_BYTES;
        if (map.entries().size() > memmapCapacity) {
            throw new IllegalArgumentException("memory map has more than " + memmapCapacity + " entries");
        }
        ByteBuffer info = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        long base = BootLayout.PVH_START_INFO;
        info.putInt(HvmStartInfo.MAGIC, HvmStartInfo.MAGIC_VALUE)
                .putInt(HvmStartInfo.VERSION, HvmStartInfo.VERSION_WITH_MEMMAP)
                .putLong(HvmStartInfo.CMDLINE_PADDR, BootLayout.CMDLINE)
                .putLong(HvmStartInfo.RSDP_PADDR, spec.rsdpGpa())
                .putLong(HvmStartInfo.MEMMAP_PADDR, base + HvmStartInfo.MEMMAP_OFFSET)
                .putInt(HvmStartInfo.MEMMAP_ENTRIES, map.entries().size());
        if (spec.hasInitrd()) {
            long initrd = map.highestFit(spec.initrd().length, kernelEnd, Math.min(FOUR_GIB, memory.size()));
            if (initrd < 0) {
                throw new KernelFormatException(String.format("no room for an initrd of %d bytes above the kernel's "
                        + "end at %#x: give the guest more RAM", spec.initrd().length, kernelEnd));
            }
            memory.write(initrd, spec.initrd(), 0, spec.initrd().length);
            int module = HvmStartInfo.MODLIST_OFFSET;
            info.putInt(HvmStartInfo.NR_MODULES, 1)
                    .putLong(HvmStartInfo.MODLIST_PADDR, base + module)
                    .putLong(module + HvmStartInfo.MODLIST_ENTRY_PADDR, initrd)
                    .putLong(module + HvmStartInfo.MODLIST_ENTRY_SIZE, spec.initrd().length);
        }
        int at = HvmStartInfo.MEMMAP_OFFSET;
        for (E820Map.Entry e : map.entries()) {
            info.putLong(at + HvmStartInfo.MEMMAP_ENTRY_ADDR, e.address())
                    .putLong(at + HvmStartInfo.MEMMAP_ENTRY_SIZE, e.size())
                    .putInt(at + HvmStartInfo.MEMMAP_ENTRY_TYPE, e.type());
            at += HvmStartInfo.MEMMAP_ENTRY_BYTES;
        }
        memory.write(base, info.array(), 0, info.capacity());

        return BootState.protectedMode(memory, entry, 0, base);
    }
}
