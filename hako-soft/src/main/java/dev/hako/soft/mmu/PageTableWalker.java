package dev.hako.soft.mmu;

import dev.hako.core.memory.DirtyPages;
import dev.hako.soft.fault.CpuFault;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The system CPU's page walker (SDM vol. 3 ch. 4.5): 4-level paging with PAE, NX, 2 MiB and 1 GiB pages,
 * user/supervisor and write protection (CR0.WP), accessed and dirty bits set atomically as hardware does, and
 * global pages (PTE.G, honoured while CR4.PGE is set); with paging off, linear is physical. Guest-physical
 * addresses below the end of RAM are RAM (host offset = gpa); the rest is MMIO. A refused access raises #PF with
 * CR2 and the error code.
 */
public final class PageTableWalker implements PageWalker {
    private static final long ADDR_MASK = 0x000F_FFFF_FFFF_F000L;
    private static final long P = 1, RW = 1 << 1, US = 1 << 2, A = 1 << 5, D = 1 << 6, PS = 1 << 7, G = 1 << 8;
    private static final long NX = 1L << 63;
    private static final VarHandle ENTRY = ValueLayout.JAVA_LONG.varHandle();
    private static final int PF_P = 1, PF_W = 2, PF_U = 4, PF_RSVD = 8, PF_I = 16;

    private final MemorySegment ram;
    private final long ramEnd;
    private final ControlRegisters cr;
    private final CpuFault fault;
    /** True while the CPU runs at CPL 3: user accesses are checked against U/S. */
    private boolean user;
    /** Told of the page of every accessed or dirty bit this walker sets; null: none. */
    private DirtyPages dirty;
    /** The page of the last successful translation is global: the TLB keeps it across CR3 writes. */
    private boolean lastGlobal;

    public PageTableWalker(MemorySegment ram, ControlRegisters cr, CpuFault fault) {
        this.ram = ram;
        this.ramEnd = ram.byteSize();
        this.cr = cr;
        this.fault = fault;
    }

    /** Marks the page tables' pages this walker writes (accessed and dirty bits) in {@code log}. */
    public void setDirtyLog(DirtyPages log) {
        this.dirty = log;
    }

    @Override
    public boolean lastTranslationGlobal() {
        return lastGlobal;
    }

    public void setUser(boolean user) {
        this.user = user;
    }

    private long physical(long gpaPage) {
        return gpaPage < ramEnd ? gpaPage : MMIO | gpaPage;
    }

    @Override
    public long translate(long gva, int access) {
        lastGlobal = false;
        if (!cr.paging()) {
            return physical(gva & 0xFFFF_FFFF_F000L & (cr.longMode() ? -1L : 0xFFFF_FFFFL));
        }
        if (!canonical(gva)) {
            throw fault.nonCanonical(gva);
        }
        boolean nxe = (cr.efer & ControlRegisters.EFER_NXE) != 0;
        long table = cr.cr3 & ADDR_MASK;
        boolean writable = true, userOk = true, executable = true;
        long leafAddr = 0;
        long entry = 0;
        int level;
        long pageSize = 0;
        for (level = 4; level >= 1; level--) {
            int shift = 12 + 9 * (level - 1);
            long entryAddr = table + ((gva >>> shift) & 511) * 8;
            if (entryAddr >= ramEnd) {
                throw new EmulationFailure(String.format("page table at %#x is outside RAM", entryAddr));
            }
            entry = ram.get(ValueLayout.JAVA_LONG, entryAddr);
            if ((entry & P) == 0) {
                throw pageFault(gva, access, false, false);
            }
            if (!nxe && (entry & NX) != 0) {
                throw pageFault(gva, access, true, true);
            }
            writable &= (entry & RW) != 0;
            userOk &= (entry & US) != 0;
            executable &= !nxe || (entry & NX) == 0;
            leafAddr = entryAddr;
            if (level == 1 || ((level == 2 || level == 3) && (entry & PS) != 0)) {
                pageSize = 1L << shift;
                break;
            }
            setBits(entryAddr, entry, A);
            table = entry & ADDR_MASK;
        }
        boolean write = access == WRITE;
        if (user && !userOk) {
            throw pageFault(gva, access, true, false);
        }
        if (write && !writable && (user || (cr.cr0 & ControlRegisters.CR0_WP) != 0)) {
            throw pageFault(gva, access, true, false);
        }
        if (access == EXECUTE && !executable) {
            throw pageFault(gva, access, true, false);
        }
        setBits(leafAddr, entry, write ? A | D : A);
        lastGlobal = (entry & G) != 0 && (cr.cr4 & ControlRegisters.CR4_PGE) != 0;
        long frame = entry & ADDR_MASK & ~(pageSize - 1);
        return physical(frame + (gva & (pageSize - 1) & ~0xFFFL));
    }

    private void setBits(long entryAddr, long entry, long bits) {
        if ((entry & bits) != bits) {
            // Atomic like the hardware's locked update, so another vCPU's concurrent change is not lost.
            long current = entry;
            while (true) {
                long witness = (long) ENTRY.compareAndExchange(ram, entryAddr, current, current | bits);
                if (witness == current && dirty != null) {
                    dirty.mark(entryAddr);
                }
                if (witness == current || (witness & bits) == bits) {
                    break;
                }
                current = witness;
            }
        }
    }

    private static boolean canonical(long gva) {
        return (gva << 16 >> 16) == gva;
    }

    private CpuFault pageFault(long gva, int access, boolean present, boolean reserved) {
        int code = (present ? PF_P : 0) | (access == WRITE ? PF_W : 0) | (user ? PF_U : 0)
                | (reserved ? PF_RSVD : 0)
                | (access == EXECUTE && (cr.efer & ControlRegisters.EFER_NXE) != 0 ? PF_I : 0);
        cr.cr2 = gva;
        return fault.raise(CpuFault.PF, code, true, gva);
    }
}
