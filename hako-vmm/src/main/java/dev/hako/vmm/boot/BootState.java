package dev.hako.vmm.boot;

import dev.hako.core.memory.GuestMemory;

/**
 * The register state a vCPU starts the kernel in, produced by a {@link KernelLoader}. Registers not named here
 * start at zero. The descriptor tables, page tables and structures the registers point to are already in guest
 * memory, and the hidden segment state matches the descriptors written there.
 */
public record BootState(
        Mode mode,
        long rip, long rsp, long rsi, long rbx, long rax, long rflags,
        long cr0, long cr3, long cr4, long efer,
        DescriptorTableState gdt, DescriptorTableState idt,
        SegmentState cs, SegmentState ds, SegmentState es, SegmentState fs, SegmentState gs, SegmentState ss,
        SegmentState tr, SegmentState ldtr) {

    /** Which entry protocol the state is for. */
    public enum Mode {
        /** Linux boot protocol 64-bit entry: long mode, paging on, identity-mapped. */
        LONG_MODE_64,
        /** Xen PVH and Multiboot entry: 32-bit protected mode, paging off. */
        PROTECTED_MODE_32
    }

    public static final long CR0_PE = 1L;
    public static final long CR0_ET = 1L << 4;
    public static final long CR0_PG = 1L << 31;
    public static final long CR4_PAE = 1L << 5;
    public static final long IA32_EFER_LME = 1L << 8;
    public static final long IA32_EFER_LMA = 1L << 10;
    /** RFLAGS bit 1 always reads as one; IF, TF and VM are clear. */
    public static final long RFLAGS_FIXED = 1L << 1;

    /**
     * The 32-bit entry PVH and Multiboot share: protected mode with paging off, flat 4 GiB code and data segments
     * from the GDT this writes at {@link BootLayout#GDT}, an active 32-bit TSS, IF clear, the stack at
     * {@link BootLayout#BOOT_STACK_TOP}, and {@code rax} and {@code rbx} as the protocol wants them.
     */
    public static BootState protectedMode(GuestMemory memory, long entry, long rax, long rbx) {
        Gdt gdt = Gdt.protectedMode();
        gdt.writeTo(memory, BootLayout.GDT);
        SegmentState data = gdt.segment(Gdt.BOOT_DS);
        return new BootState(Mode.PROTECTED_MODE_32, entry, BootLayout.BOOT_STACK_TOP, 0, rbx, rax, RFLAGS_FIXED,
                CR0_PE | CR0_ET, 0, 0, 0, gdt.register(BootLayout.GDT), new DescriptorTableState(0, 0),
                gdt.segment(Gdt.BOOT_CS), data, data, data, data, data, gdt.segment(Gdt.BOOT_TSS), Gdt.unusedLdt());
    }
}
