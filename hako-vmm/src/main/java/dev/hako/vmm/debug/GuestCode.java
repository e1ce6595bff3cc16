package dev.hako.vmm.debug;

import dev.hako.core.memory.GuestMemory;
import dev.hako.core.x86.X86CpuState;
import dev.hako.soft.decode.Disassembler;
import java.util.List;

/** The guest's instructions at a vCPU's RIP, disassembled in the vCPU's current mode (for reports and gdb). */
public final class GuestCode {
    private static final long CR0_PE = 1, EFER_LMA = 1L << 10;
    private static final int ATTR_L = 1 << 13, ATTR_DB = 1 << 14;

    private GuestCode() {}

    /** 16, 32 or 64: the width of the code CS runs in that state. */
    public static int bits(X86CpuState s) {
        int cs = s.segmentAttributes[X86CpuState.CS];
        if ((s.cr0 & CR0_PE) == 0) {
            return 16;
        }
        if ((s.efer & EFER_LMA) != 0 && (cs & ATTR_L) != 0) {
            return 64;
        }
        return (cs & ATTR_DB) != 0 ? 32 : 16;
    }

    /** Up to {@code count} instructions from RIP on, one per line; an empty list when RIP is not mapped. */
    public static List<Disassembler.Instruction> atRip(GuestMemory memory, X86CpuState s, int count) {
        int bits = bits(s);
        long csBase = bits == 64 ? 0 : s.segmentBase[X86CpuState.CS];
        GuestVirtualMemory virtual = new GuestVirtualMemory(memory, s);
        // The disassembler reads offsets of CS (what RIP is); the page tables see linear addresses.
        return new Disassembler(bits).decode(offset -> virtual.read(csBase + offset), s.rip, count);
    }
}
