package dev.hako.vmm.debug;

import dev.hako.core.memory.GuestMemory;
import dev.hako.core.x86.X86CpuState;
import dev.hako.soft.decode.CodeBytes;

/**
 * Guest memory by virtual address, through the page tables of one vCPU's state, for a debugger and for
 * failure reports (SDM vol. 3 §4.3 32-bit paging with 4 MiB pages, §4.4 PAE, §4.5 4- and 5-level paging with
 * 2 MiB and 1 GiB pages). It only reads the tables: no accessed or dirty bits are set, no TLB is consulted, and
 * protection bits are ignored (a debugger may read what the guest could not). An unmapped address, or a table
 * outside RAM, is -1: never an exception.
 */
public final class GuestVirtualMemory {
    private static final long CR0_PG = 1L << 31;
    private static final long CR4_PSE = 1L << 4, CR4_PAE = 1L << 5, CR4_LA57 = 1L << 12;
    private static final long EFER_LMA = 1L << 10;
    private static final long PRESENT = 1, LARGE = 1 << 7;
    private static final long ADDRESS = 0x000F_FFFF_FFFF_F000L;

    private final GuestMemory memory;
    private final X86CpuState state;

    public GuestVirtualMemory(GuestMemory memory, X86CpuState state) {
        this.memory = memory;
        this.state = state;
    }

    /** The guest-physical address of {@code gva}, or -1 when no page maps it. */
    public long translate(long gva) {
        if ((state.cr0 & CR0_PG) == 0) {
            return gva & 0xFFFF_FFFFL;
        }
        if ((state.efer & EFER_LMA) != 0) {
            boolean five = (state.cr4 & CR4_LA57) != 0;
            return walk(state.cr3 & ADDRESS, gva, five ? 48 : 39, 9);
        }
        if ((state.cr4 & CR4_PAE) != 0) {
            long pdpte = entry((state.cr3 & 0xFFFF_FFE0L) + ((gva >>> 30 & 3) << 3));
            if (pdpte < 0 || (pdpte & PRESENT) == 0) {
                return -1;
            }
            return walk(pdpte & ADDRESS, gva & 0xFFFF_FFFFL, 21, 9);
        }
        long pde = entry32((state.cr3 & 0xFFFF_F000L) + ((gva >>> 22 & 0x3FF) << 2));
        if (pde < 0 || (pde & PRESENT) == 0) {
            return -1;
        }
        if ((pde & LARGE) != 0 && (state.cr4 & CR4_PSE) != 0) {
            return (pde & 0xFFC0_0000L | (pde & 0x1FE000L) << 19) + (gva & 0x3F_FFFF);
        }
        long pte = entry32((pde & 0xFFFF_F000L) + ((gva >>> 12 & 0x3FF) << 2));
        return pte < 0 || (pte & PRESENT) == 0 ? -1 : (pte & 0xFFFF_F000L) + (gva & 0xFFF);
    }

    /** Walks 64-bit entries from the level whose index starts at bit {@code shift}, down to 4 KiB pages. */
    private long walk(long table, long gva, int shift, int bits) {
        for (int s = shift; s >= 12; s -= bits) {
            long e = entry(table + ((gva >>> s & ((1 << bits) - 1)) << 3));
            if (e < 0 || (e & PRESENT) == 0) {
                return -1;
            }
            if (s == 12 || (e & LARGE) != 0 && s <= 30) {
                long pageMask = (1L << s) - 1;
                return (e & ADDRESS & ~pageMask) + (gva & pageMask);
            }
            table = e & ADDRESS;
        }
        return -1;
    }

    private long entry(long gpa) {
        return memory.contains(gpa, 8) ? memory.getU64(gpa) & Long.MAX_VALUE : -1;
    }

    private long entry32(long gpa) {
        return memory.contains(gpa, 4) ? memory.getU32(gpa) : -1;
    }

    /** The byte at {@code gva}, or -1 when it is not mapped or not in RAM. */
    public int read(long gva) {
        long gpa = translate(gva);
        return gpa >= 0 && memory.contains(gpa, 1) ? memory.getU8(gpa) : -1;
    }

    /** Copies {@code length} bytes from {@code gva}; false (with part copied) at the first unmapped byte. */
    public boolean read(long gva, byte[] into, int length) {
        for (int i = 0; i < length; i++) {
            int b = read(gva + i);
            if (b < 0) {
                return false;
            }
            into[i] = (byte) b;
        }
        return true;
    }

    /** Writes {@code length} bytes at {@code gva}; false, writing nothing, when any byte is unmapped. */
    public boolean write(long gva, byte[] bytes, int length) {
        for (int i = 0; i < length; i++) {
            long gpa = translate(gva + i);
            if (gpa < 0 || !memory.contains(gpa, 1)) {
                return false;
            }
        }
        for (int i = 0; i < length; i++) {
            memory.setU8(translate(gva + i), bytes[i]);
        }
        return true;
    }

    /** Instruction bytes at guest virtual addresses, for the disassembler. */
    public CodeBytes code() {
        return this::read;
    }
}
