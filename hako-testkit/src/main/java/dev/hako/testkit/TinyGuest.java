package dev.hako.testkit;

import dev.hako.core.x86.X86CpuState;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;

/**
 * A hand-assembled guest: RAM and writers for the structures a tiny guest needs before its first instruction
 * (identity page tables, GDT descriptors, a 64-bit TSS descriptor, IDT gates), plus the CPU states to start
 * it in real or long mode. Tests lay the guest out at their own addresses; nothing here picks an address.
 */
public final class TinyGuest {
    /** Flat 4 GiB descriptors; the "accessed" ones come as Linux's do, the others as a fresh GDT would. */
    public static final long CODE64 = 0x00AF9B000000FFFFL, CODE64_UNACCESSED = 0x00AF9A000000FFFFL,
            CODE32_UNACCESSED = 0x00CF9A000000FFFFL, DATA = 0x00CF93000000FFFFL,
            DATA_UNACCESSED = 0x00CF92000000FFFFL;
    /** Hidden segment attributes of a loaded 64-bit code and a flat data segment (VMX layout). */
    public static final int CODE64_ATTRIBUTES = 0xA09B, DATA_ATTRIBUTES = 0xC093;
    /** A present 2 MiB page, writable (PS | RW | P). */
    public static final long LARGE_PAGE = 0x83;
    /** The limit of a 64-bit TSS without an I/O bitmap. */
    public static final int TSS_LIMIT = 0x67;

    private final MemorySegment ram;

    public TinyGuest(MemorySegment ram) {
        this.ram = ram;
    }

    /** Page-aligned RAM that lives as long as the guest is reachable. */
    public static TinyGuest withRam(long bytes) {
        return new TinyGuest(Arena.ofAuto().allocate(bytes, 4096));
    }

    public MemorySegment ram() {
        return ram;
    }

    public void put64(long gpa, long value) {
        ram.set(ValueLayout.JAVA_LONG_UNALIGNED, gpa, value);
    }

    public long get64(long gpa) {
        return ram.get(ValueLayout.JAVA_LONG_UNALIGNED, gpa);
    }

    /** Copies hex-written bytes (spaces between instructions allowed) to {@code gpa}. */
    public void code(long gpa, String hex) {
        byte[] b = HexFormat.of().parseHex(hex.replace(" ", ""));
        MemorySegment.copy(b, 0, ram, ValueLayout.JAVA_BYTE, gpa, b.length);
    }

    /** PML4[0] -> PDPT, PDPT[0] -> PD, PD[0] a 2 MiB page at 0: the first 2 MiB mapped to themselves. */
    public void identityMapFirst2MiB(long pml4, long pdpt, long pd) {
        put64(pml4, pdpt | 3);
        put64(pdpt, pd | 3);
        put64(pd, LARGE_PAGE);
    }

    public void descriptor(long gdt, int selector, long descriptor) {
        put64(gdt + selector, descriptor);
    }

    /** A 64-bit available TSS at {@code tss} below 16 MiB (the upper half of the descriptor stays zero). */
    public void tssDescriptor(long gdt, int selector, long tss) {
        put64(gdt + selector, TSS_LIMIT | ((tss & 0xFFFFFF) << 16) | (0x89L << 40));
    }

    /** A present ring-0 64-bit interrupt gate (IF cleared on entry), no IST. */
    public void interruptGate(long idt, int vector, int codeSelector, long handler) {
        long low = (handler & 0xFFFF) | ((long) codeSelector << 16) | (0x8EL << 40)
                | (((handler >>> 16) & 0xFFFF) << 48);
        put64(idt + vector * 16L, low);
        put64(idt + vector * 16L + 8, handler >>> 32);
    }

    /**
     * Long mode with paging already on (CR0 PE MP NE WP AM PG, CR4.PAE, EFER LME LMA): CS the 64-bit code
     * segment, DS ES SS the flat data segment. RIP, RSP and the task register are the test's to set.
     */
    public static X86CpuState longMode(long pml4, long gdt, int gdtLimit, long idt, int idtLimit,
            int codeSelector, int dataSelector) {
        X86CpuState s = new X86CpuState();
        s.cr0 = 0x80050033L;
        s.cr3 = pml4;
        s.cr4 = 0x20;
        s.efer = 0x500;
        s.gdtBase = gdt;
        s.gdtLimit = gdtLimit;
        s.idtBase = idt;
        s.idtLimit = idtLimit;
        s.selector[X86CpuState.CS] = codeSelector;
        s.segmentAttributes[X86CpuState.CS] = CODE64_ATTRIBUTES;
        for (int seg : new int[] {X86CpuState.DS, X86CpuState.ES, X86CpuState.SS}) {
            s.selector[seg] = dataSelector;
            s.segmentAttributes[seg] = DATA_ATTRIBUTES;
        }
        return s;
    }

    /** Points TR at a TSS written by {@link #tssDescriptor}. */
    public static void loadTaskRegister(X86CpuState s, int selector, long tss) {
        s.trSelector = selector;
        s.trBase = tss;
        s.trLimit = TSS_LIMIT;
    }

    /** The reset state moved to real-mode address {@code base} (IP 0) in the given segment registers. */
    public static X86CpuState realMode(long base, int... segments) {
        X86CpuState s = X86CpuState.atReset();
        for (int seg : segments) {
            s.selector[seg] = (int) (base >> 4);
            s.segmentBase[seg] = base;
        }
        s.rip = 0;
        return s;
    }
}
