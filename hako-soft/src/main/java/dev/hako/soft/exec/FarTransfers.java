package dev.hako.soft.exec;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.ControlRegisters;
import dev.hako.soft.mmu.EmulationFailure;

/**
 * Transfers that change CS (SDM vol. 3 ch. 5.8, 6.14.3, and SYSCALL/SYSRET): far RET, IRET, far JMP/CALL
 * through memory, SYSCALL and SYSRET. Compatibility mode (a 32-bit code segment under long mode) is not
 * emulated: entering it is an emulation failure.
 */
final class FarTransfers {
    /** RFLAGS bits IRET may change: all at CPL 0; IOPL needs CPL 0, IF needs CPL <= IOPL. */
    private static final long IRET_MASK = Flags.ARITH | Flags.TF | Flags.IF | Flags.DF | (3L << 12) | (1L << 14)
            | (1L << 16) | Flags.AC | (1L << 19) | (1L << 20) | Flags.ID;
    /** Flat 64-bit code at DPL 0 and 3, and flat data, as SYSCALL and SYSRET load them (fixed, not read). */
    private static final int CODE64_DPL0 = 0xA09B, CODE64_DPL3 = 0xA0FB, DATA_DPL0 = 0xC093, DATA_DPL3 = 0xC0F3;

    private FarTransfers() {}

    private static void requireLongMode64(Cpu c, long csDescriptor) {
        if (c.sys.cr.longMode() && (csDescriptor & (1L << 53)) == 0) {
            throw new EmulationFailure("transfer to a compatibility-mode code segment is not emulated");
        }
    }

    /** LRET (with an optional imm16 stack release), same or outer privilege. */
    static void farReturn(Cpu c, Insn i) {
        int size = i.opSize;
        long sp = c.r[Cpu.RSP];
        long rip = c.mem.read(sp, size);
        int selector = (int) c.mem.read(sp + size, size) & 0xFFFF;
        int rpl = selector & 3;
        if (rpl < c.cpl) {
            throw c.fault(CpuFault.GP, selector & ~3);
        }
        long d = Descriptors.codeDescriptor(c, selector);
        requireLongMode64(c, d);
        if (c.sys.cr.longMode()) {
            rip = Branches.target(rip, c);
        }
        long release = i.imm & 0xFFFF;
        sp += 2L * size + release;
        if (rpl > c.cpl) {
            long newRsp = c.mem.read(sp, size);
            int ss = (int) c.mem.read(sp + size, size) & 0xFFFF;
            Descriptors.loadCode(c, selector, d, rpl);
            Descriptors.loadData(c, SystemState.SS, ss);
            c.r[Cpu.RSP] = newRsp + release;
        } else {
            Descriptors.loadCode(c, selector, d, c.cpl);
            c.r[Cpu.RSP] = sp;
        }
        c.rip = rip;
    }

    /** IRET/IRETQ in long mode: pops RIP, CS, RFLAGS, RSP and SS. */
    static void iret(Cpu c, Insn i) {
        if (!c.sys.cr.longMode()) {
            LegacyInterrupts.iret(c, i);
            return;
        }
        int size = i.opSize == 2 ? 2 : i.rexW ? 8 : 4;
        long sp = c.r[Cpu.RSP];
        long rip = c.mem.read(sp, size);
        int selector = (int) c.mem.read(sp + size, size) & 0xFFFF;
        long flags = c.mem.read(sp + 2L * size, size);
        long rsp = c.mem.read(sp + 3L * size, size);
        int ss = (int) c.mem.read(sp + 4L * size, size) & 0xFFFF;
        int rpl = selector & 3;
        if (rpl < c.cpl) {
            throw c.fault(CpuFault.GP, selector & ~3);
        }
        long d = Descriptors.codeDescriptor(c, selector);
        requireLongMode64(c, d);
        rip = Branches.target(rip, c);
        long mask = IRET_MASK;
        if (c.cpl > 0) {
            mask &= ~(3L << 12);
        }
        if (c.cpl > ((c.flagsOther >>> 12) & 3)) {
            mask &= ~Flags.IF;
        }
        int oldCpl = c.cpl;
        Descriptors.loadCode(c, selector, d, rpl);
        try {
            Descriptors.loadData(c, SystemState.SS, ss);
        } catch (CpuFault f) {
            Descriptors.loadCode(c, c.sys.selector[SystemState.CS], d, oldCpl);
            throw f;
        }
        c.setRflags(flags, mask);
        c.r[Cpu.RSP] = rsp;
        c.rip = rip;
        c.attention = true; // IF may have come back on with an interrupt waiting
    }

    private static void farTransfer(Cpu c, Insn i, boolean call) {
        long ea = c.ea(i);
        int size = i.opSize;
        long rip = c.mem.read(ea, size);
        int selector = c.mem.read16(ea + size);
        long d = Descriptors.codeDescriptor(c, selector);
        requireLongMode64(c, d);
        boolean conforming = (d & (1L << 42)) != 0;
        int dpl = Descriptors.dpl(d);
        if (conforming ? dpl > c.cpl : (dpl != c.cpl || (selector & 3) > c.cpl)) {
            throw c.fault(CpuFault.GP, selector & ~3);
        }
        if (call) {
            Stack.push(c, size, c.sys.selector[SystemState.CS]);
            Stack.push(c, size, i.next);
        }
        Descriptors.loadCode(c, selector, d, c.cpl);
        c.rip = rip;
    }

    static void farJump(Cpu c, Insn i) {
        farTransfer(c, i, false);
    }

    static void farCall(Cpu c, Insn i) {
        farTransfer(c, i, true);
    }

    /**
     * JMP ptr16:16/32 (EA, outside 64-bit mode): in real mode CS takes selector * 16 as its base; in
     * protected mode the descriptor is loaded at the same privilege (the switch into protected or long mode).
     */
    static void farJumpDirect(Cpu c, Insn i) {
        int selector = (int) i.imm2 & 0xFFFF;
        if ((c.sys.cr.cr0 & 1) == 0) {
            Descriptors.setSegment(c, SystemState.CS, selector, (long) selector << 4, 0xFFFF,
                    c.sys.attributes[SystemState.CS] & ~0x6000);
        } else {
            long d = Descriptors.codeDescriptor(c, selector);
            requireLongMode64(c, d);
            Descriptors.loadCode(c, selector, d, c.cpl);
        }
        c.rip = i.imm;
    }

    /** SYSCALL as the architecture defines it, to the kernel at LSTAR (the user-mode runner bypasses this). */
    static void syscall(Cpu c, long nextRip) {
        SystemState s = c.sys;
        if ((s.cr.efer & ControlRegisters.EFER_SCE) == 0) {
            throw c.fault(CpuFault.UD);
        }
        c.r[Cpu.RCX] = nextRip;
        c.r[11] = c.rflags() & ~(1L << 16);
        int cs = (int) (s.star >>> 32) & 0xFFFC;
        Descriptors.setSegment(c, SystemState.CS, cs, 0, 0xFFFFFFFFL, CODE64_DPL0);
        Descriptors.setSegment(c, SystemState.SS, cs + 8, 0, 0xFFFFFFFFL, DATA_DPL0);
        c.setCpl(0);
        c.setRflags(c.rflags() & ~s.sfmask & ~(1L << 16), -1L);
        c.rip = s.lstar;
    }

    /** SYSRET to 64-bit user code (REX.W); the 32-bit form would enter compatibility mode. */
    static void sysret(Cpu c, Insn i) {
        SystemState s = c.sys;
        if ((s.cr.efer & ControlRegisters.EFER_SCE) == 0) {
            throw c.fault(CpuFault.UD);
        }
        if (c.cpl != 0) {
            throw c.fault(CpuFault.GP, 0);
        }
        if (!i.rexW) {
            throw new EmulationFailure("SYSRET to compatibility mode is not emulated");
        }
        long rip = c.r[Cpu.RCX];
        if ((rip << 16 >> 16) != rip) {
            throw c.fault(CpuFault.GP, 0);
        }
        int base = (int) (s.star >>> 48) & 0xFFFF;
        Descriptors.setSegment(c, SystemState.CS, (base + 16) | 3, 0, 0xFFFFFFFFL, CODE64_DPL3);
        Descriptors.setSegment(c, SystemState.SS, (base + 8) | 3, 0, 0xFFFFFFFFL, DATA_DPL3);
        c.setCpl(3);
        c.setRflags((c.r[11] & 0x3C7FD7L) | 2, -1L);
        c.rip = rip;
        c.attention = true;
    }
}
