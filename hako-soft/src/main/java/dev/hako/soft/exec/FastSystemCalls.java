package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.ENDS_BLOCK;
import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpcodeTable.MAP_0F;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;
import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.ControlRegisters;

/**
 * The fast system calls of a long-mode kernel (SDM vol. 2 SYSCALL, SYSRET, SYSENTER, SYSEXIT): the segments
 * they load are fixed flat descriptors derived from IA32_STAR or IA32_SYSENTER_CS, never read from the GDT.
 * SYSCALL enters the kernel at LSTAR from 64-bit code and at CSTAR from compatibility mode (AMD's rule; Linux
 * points CSTAR at its 32-bit entry); SYSRET with REX.W returns to 64-bit code, without it to 32-bit code at
 * STAR[63:48]. SYSENTER enters 64-bit code at IA32_SYSENTER_EIP under long mode (32-bit code outside it);
 * SYSEXIT returns to 64-bit code with REX.W, else to 32-bit code. Not implemented: SYSCALL and SYSRET outside
 * long mode (legacy-mode SYSCALL is AMD's only), which raise #UD.
 */
final class FastSystemCalls {
    /** Flat code and data attributes (access byte, flags nibble) as these instructions load them. */
    private static final int CODE64_DPL0 = 0xA09B, CODE64_DPL3 = 0xA0FB, CODE32_DPL0 = 0xC09B,
            CODE32_DPL3 = 0xC0FB, DATA_DPL0 = 0xC093, DATA_DPL3 = 0xC0F3;
    /** The RFLAGS bits SYSRET takes from R11 (the SDM's mask: RF and VM stay clear). */
    private static final long SYSRET_FLAGS = 0x3C7FD7L;
    private static final long FLAT_LIMIT = 0xFFFFFFFFL;

    private FastSystemCalls() {}

    static void register(OpcodeTable t) {
        t.op(MAP_0F, 0x07, "sysret", ENDS_BLOCK, IMM_NONE, 0, FastSystemCalls::sysret);
        t.op(MAP_0F, 0x34, "sysenter", ENDS_BLOCK, IMM_NONE, 0, FastSystemCalls::sysenter);
        t.op(MAP_0F, 0x35, "sysexit", ENDS_BLOCK, IMM_NONE, 0, FastSystemCalls::sysexit);
    }

    /** SYSCALL as the architecture defines it, to the kernel (the user-mode runner bypasses this). */
    static void syscall(Cpu c, long nextRip) {
        SystemState s = c.sys;
        if ((s.cr.efer & ControlRegisters.EFER_SCE) == 0 || !s.cr.longMode()) {
            throw c.fault(CpuFault.UD);
        }
        boolean from64 = c.mode == Cpu.MODE_64;
        c.r[Cpu.RCX] = nextRip;
        c.r[11] = c.rflags() & ~Flags.RF;
        int cs = (int) (s.star >>> 32) & 0xFFFC;
        Descriptors.setSegment(c, SystemState.CS, cs, 0, FLAT_LIMIT, CODE64_DPL0);
        Descriptors.setSegment(c, SystemState.SS, cs + 8, 0, FLAT_LIMIT, DATA_DPL0);
        c.setCpl(0);
        c.setRflags(c.rflags() & ~s.sfmask & ~Flags.RF, -1L);
        c.rip = from64 ? s.lstar : s.cstar;
    }

    /** SYSRET: to 64-bit user code at RCX with REX.W, else to 32-bit user code at ECX. */
    static void sysret(Cpu c, Insn i) {
        SystemState s = c.sys;
        if ((s.cr.efer & ControlRegisters.EFER_SCE) == 0 || c.mode != Cpu.MODE_64) {
            throw c.fault(CpuFault.UD);
        }
        if (c.cpl != 0) {
            throw c.fault(CpuFault.GP, 0);
        }
        long rip = c.r[Cpu.RCX];
        int base = (int) (s.star >>> 48) & 0xFFFF;
        if (i.rexW) {
            if ((rip << 16 >> 16) != rip) {
                throw c.fault(CpuFault.GP, 0);
            }
            Descriptors.setSegment(c, SystemState.CS, (base + 16) | 3, 0, FLAT_LIMIT, CODE64_DPL3);
        } else {
            rip &= 0xFFFFFFFFL;
            Descriptors.setSegment(c, SystemState.CS, base | 3, 0, FLAT_LIMIT, CODE32_DPL3);
        }
        Descriptors.setSegment(c, SystemState.SS, (base + 8) | 3, 0, FLAT_LIMIT, DATA_DPL3);
        c.setCpl(3);
        c.setRflags((c.r[11] & SYSRET_FLAGS) | 2, -1L);
        c.rip = rip;
        c.attention = true; // IF may have come back on with an interrupt waiting
    }

    /**
     * SYSENTER: to CPL 0 at IA32_SYSENTER_CS:EIP with the stack IA32_SYSENTER_ESP, IF, VM and RF cleared. The
     * user-mode runner has no kernel to enter: #UD, as a process whose kernel left the MSRs zero would get #GP.
     */
    static void sysenter(Cpu c, Insn i) {
        SystemState s = c.sys;
        if (c.syscallHandler != null) {
            throw c.fault(CpuFault.UD);
        }
        int cs = (int) s.sysenterCs & 0xFFFC;
        if ((s.cr.cr0 & ControlRegisters.CR0_PE) == 0 || cs == 0) {
            throw c.fault(CpuFault.GP, 0);
        }
        boolean longMode = s.cr.longMode();
        c.setRflags(c.rflags() & ~(Flags.IF | Flags.RF | Flags.VM), -1L);
        Descriptors.setSegment(c, SystemState.CS, cs, 0, FLAT_LIMIT, longMode ? CODE64_DPL0 : CODE32_DPL0);
        Descriptors.setSegment(c, SystemState.SS, cs + 8, 0, FLAT_LIMIT, DATA_DPL0);
        c.setCpl(0);
        long mask = longMode ? -1L : 0xFFFFFFFFL;
        c.r[Cpu.RSP] = s.sysenterEsp & mask;
        c.rip = s.sysenterEip & mask;
    }

    /** SYSEXIT: from CPL 0 to CPL 3 at RDX with the stack RCX, 64-bit code with REX.W, else 32-bit code. */
    static void sysexit(Cpu c, Insn i) {
        SystemState s = c.sys;
        int cs = (int) s.sysenterCs & 0xFFFC;
        if ((s.cr.cr0 & ControlRegisters.CR0_PE) == 0 || cs == 0 || c.cpl != 0) {
            throw c.fault(CpuFault.GP, 0);
        }
        long rip = c.r[Cpu.RDX], rsp = c.r[Cpu.RCX];
        if (i.rexW) {
            if ((rip << 16 >> 16) != rip || (rsp << 16 >> 16) != rsp) {
                throw c.fault(CpuFault.GP, 0);
            }
            Descriptors.setSegment(c, SystemState.CS, (cs + 32) | 3, 0, FLAT_LIMIT, CODE64_DPL3);
        } else {
            rip &= 0xFFFFFFFFL;
            rsp &= 0xFFFFFFFFL;
            Descriptors.setSegment(c, SystemState.CS, (cs + 16) | 3, 0, FLAT_LIMIT, CODE32_DPL3);
        }
        Descriptors.setSegment(c, SystemState.SS, (cs + 24) | 3, 0, FLAT_LIMIT, DATA_DPL3);
        c.setCpl(3);
        c.r[Cpu.RSP] = rsp;
        c.rip = rip;
    }
}
