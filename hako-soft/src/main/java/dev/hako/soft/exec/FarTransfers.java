package dev.hako.soft.exec;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.EmulationFailure;

/**
 * Transfers that change CS through a code-segment descriptor (SDM vol. 3 ch. 5.8, 6.14.3; vol. 2 CALL, JMP, RET,
 * IRET): far RET, IRET, far JMP and CALL through memory or an immediate pointer. Under long mode the target's L
 * and D bits choose 64-bit code or compatibility mode (32- or 16-bit code with long-mode paging), and
 * {@link Cpu#updateMode} follows every CS load; a 64-bit target must be canonical, any other lie within its
 * segment's limit. IRET pops SS:RSP from 64-bit code always, from compatibility mode only when it returns to
 * an outer level. Not implemented: call gates and task switches through far JMP/CALL (an emulation failure
 * naming the feature); outer-level returns leave DS, ES, FS and GS loaded even where the SDM nulls them.
 */
final class FarTransfers {
    /** RFLAGS bits IRET may change: all at CPL 0; IOPL needs CPL 0, IF needs CPL <= IOPL. */
    private static final long IRET_MASK = Flags.ARITH | Flags.TF | Flags.IF | Flags.DF | (3L << 12) | Flags.NT
            | Flags.RF | Flags.AC | (1L << 19) | (1L << 20) | Flags.ID;
    /** Descriptor bits: S (code or data), and the code segment's L (64-bit) bit. */
    private static final long S_BIT = 1L << 44, L_BIT = 1L << 53;

    private FarTransfers() {}

    /**
     * Where a far transfer of operand size {@code size} to {@code offset} in the code segment {@code d} lands:
     * canonical in 64-bit code, else within the segment's limit; #GP(0) otherwise.
     */
    private static long landing(Cpu c, long d, long offset, int size) {
        long rip = offset & Cpu.addressMask(size);
        if (c.sys.cr.longMode() && (d & L_BIT) != 0) {
            return Branches.target(rip, c);
        }
        if (rip > Descriptors.limit(d)) {
            throw c.fault(CpuFault.GP, 0);
        }
        return rip;
    }

    /** Far JMP and CALL reach only code segments here: a call gate or a task switch is reported, not faulted. */
    private static void requireNoGate(Cpu c, int selector, String transfer) {
        if ((selector & ~3) == 0) {
            return; // the code-segment load raises #GP(0)
        }
        long d = Descriptors.descriptor(c, selector);
        if ((d & S_BIT) != 0) {
            return;
        }
        int type = (int) (d >>> 40) & 0xF;
        if (type == 0xC || type == 4 && !c.sys.cr.longMode()) {
            throw new EmulationFailure(transfer + " through a call gate is not emulated (selector 0x"
                    + Integer.toHexString(selector) + ")");
        }
        if (!c.sys.cr.longMode() && (type == 5 || type == 1 || type == 3 || type == 9 || type == 0xB)) {
            throw new EmulationFailure("task switches (" + transfer + " to a TSS or task gate) are not emulated");
        }
    }

    /** Loads CS at {@code cpl} and then SS; if SS faults, CS and the CPL are put back as they were. */
    private static void loadCodeAndStack(Cpu c, int selector, long d, int cpl, int ss) {
        SystemState s = c.sys;
        int oldSelector = s.selector[SystemState.CS];
        int oldAttributes = s.attributes[SystemState.CS];
        long oldBase = s.base[SystemState.CS];
        long oldLimit = s.limit[SystemState.CS];
        int oldCpl = c.cpl;
        Descriptors.loadCode(c, selector, d, cpl);
        try {
            Descriptors.loadData(c, SystemState.SS, ss);
        } catch (CpuFault f) {
            Descriptors.setSegment(c, SystemState.CS, oldSelector, oldBase, oldLimit, oldAttributes);
            if (c.cpl != oldCpl) {
                c.setCpl(oldCpl);
            }
            throw f;
        }
    }

    /** The stack pointer moved by {@code delta} at the width of the current stack (before a CS change). */
    private static long movedStackPointer(Cpu c, long delta) {
        long mask = c.stackMask();
        long sp = c.r[Cpu.RSP];
        return (sp & ~mask) | ((sp + delta) & mask);
    }

    /** LRET (with an optional imm16 stack release), same or outer privilege. */
    static void farReturn(Cpu c, Insn i) {
        int size = i.opSize;
        long offset = c.mem.read(c.stackAddress(0), size);
        int selector = (int) c.mem.read(c.stackAddress(size), size) & 0xFFFF;
        int rpl = selector & 3;
        if (rpl < c.cpl) {
            throw c.fault(CpuFault.GP, selector & ~3);
        }
        long d = Descriptors.codeDescriptor(c, selector);
        long rip = landing(c, d, offset, size);
        long release = i.imm & 0xFFFF;
        if (rpl > c.cpl) {
            long newRsp = c.mem.read(c.stackAddress(2L * size + release), size);
            int ss = (int) c.mem.read(c.stackAddress(3L * size + release), size) & 0xFFFF;
            loadCodeAndStack(c, selector, d, rpl, ss);
            c.r[Cpu.RSP] = newRsp;
            c.adjustStack(release);
        } else {
            long sp = movedStackPointer(c, 2L * size + release);
            Descriptors.loadCode(c, selector, d, c.cpl);
            c.r[Cpu.RSP] = sp;
        }
        c.rip = rip;
    }

    /** IRET/IRETD/IRETQ under long mode (64-bit code or compatibility mode); else the legacy IRET. */
    static void iret(Cpu c, Insn i) {
        if (!c.sys.cr.longMode()) {
            LegacyInterrupts.iret(c, i);
            return;
        }
        if ((c.flagsOther & Flags.NT) != 0) {
            throw c.fault(CpuFault.GP, 0); // no task return in IA-32e mode
        }
        int size = i.opSize == 2 ? 2 : i.rexW ? 8 : 4;
        long offset = c.mem.read(c.stackAddress(0), size);
        int selector = (int) c.mem.read(c.stackAddress(size), size) & 0xFFFF;
        long flags = c.mem.read(c.stackAddress(2L * size), size);
        int rpl = selector & 3;
        if (rpl < c.cpl) {
            throw c.fault(CpuFault.GP, selector & ~3);
        }
        long d = Descriptors.codeDescriptor(c, selector);
        boolean popsStack = c.mode == Cpu.MODE_64 || rpl > c.cpl;
        long rsp = popsStack ? c.mem.read(c.stackAddress(3L * size), size) : movedStackPointer(c, 3L * size);
        int ss = popsStack ? (int) c.mem.read(c.stackAddress(4L * size), size) & 0xFFFF : 0;
        long rip = landing(c, d, offset, size);
        long mask = IRET_MASK;
        if (c.cpl > 0) {
            mask &= ~(3L << 12);
        }
        if (c.cpl > ((c.flagsOther >>> 12) & 3)) {
            mask &= ~Flags.IF;
        }
        if (popsStack) {
            loadCodeAndStack(c, selector, d, rpl, ss);
        } else {
            Descriptors.loadCode(c, selector, d, rpl);
        }
        c.setRflags(flags, mask);
        c.r[Cpu.RSP] = rsp;
        c.rip = rip;
        c.attention = true; // IF may have come back on with an interrupt waiting
    }

    /** Far JMP or CALL to {@code selector:offset} at the current privilege (code segments only). */
    private static void farTransfer(Cpu c, Insn i, boolean call, long offset, int selector) {
        requireNoGate(c, selector, call ? "far CALL" : "far JMP");
        long d = Descriptors.codeDescriptor(c, selector);
        boolean conforming = (d & (1L << 42)) != 0;
        int dpl = Descriptors.dpl(d);
        if (conforming ? dpl > c.cpl : (dpl != c.cpl || (selector & 3) > c.cpl)) {
            throw c.fault(CpuFault.GP, selector & ~3);
        }
        long rip = landing(c, d, offset, i.opSize);
        if (call) {
            pushReturnAddress(c, i);
        }
        Descriptors.loadCode(c, selector, d, c.cpl);
        c.rip = rip;
    }

    /** Pushes CS and the next instruction's offset at the operand size, moving the stack only once both land. */
    private static void pushReturnAddress(Cpu c, Insn i) {
        int size = i.opSize;
        c.mem.write(c.stackAddress(-size), size, c.sys.selector[SystemState.CS]);
        c.mem.write(c.stackAddress(-2L * size), size, i.next);
        c.adjustStack(-2L * size);
    }

    static void farJump(Cpu c, Insn i) {
        long ea = c.ea(i);
        farTransfer(c, i, false, c.mem.read(ea, i.opSize), c.mem.read16(ea + i.opSize));
    }

    static void farCall(Cpu c, Insn i) {
        long ea = c.ea(i);
        farTransfer(c, i, true, c.mem.read(ea, i.opSize), c.mem.read16(ea + i.opSize));
    }

    /**
     * JMP and CALL ptr16:16/32 (EA and 9A, outside 64-bit mode): in real mode CS takes selector * 16 as its
     * base; in protected mode (and compatibility mode) the descriptor is loaded at the same privilege: the
     * switch into protected or long mode, or from 32-bit code into 64-bit code.
     */
    static void farJumpDirect(Cpu c, Insn i) {
        farDirect(c, i, false);
    }

    static void farCallDirect(Cpu c, Insn i) {
        farDirect(c, i, true);
    }

    private static void farDirect(Cpu c, Insn i, boolean call) {
        int selector = (int) i.imm2 & 0xFFFF;
        if ((c.sys.cr.cr0 & 1) != 0) {
            farTransfer(c, i, call, i.imm, selector);
            return;
        }
        if (call) {
            pushReturnAddress(c, i);
        }
        Descriptors.setSegment(c, SystemState.CS, selector, (long) selector << 4, 0xFFFF,
                c.sys.attributes[SystemState.CS] & ~0x6000);
        c.rip = i.imm & Cpu.addressMask(i.opSize);
    }
}
