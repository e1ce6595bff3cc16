package dev.hako.soft.exec;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.EmulationFailure;

/**
 * Interrupts and IRET outside long mode (SDM vol. 3 ch. 6.12 and 20.1.4): the real-mode IVT, and the
 * protected-mode IDT with 8-byte 16- and 32-bit interrupt and trap gates, the stack switch through a 32-bit
 * TSS, and IRET back to the same or an outer privilege level. Task gates and virtual-8086 mode are not
 * emulated. A fault while delivering leaves the interrupted state in place, as on hardware.
 */
final class LegacyInterrupts {
    private static final long FLAGS_CLEARED = Flags.TF | Flags.NT | Flags.RF | Flags.VM;

    private LegacyInterrupts() {}

    static void deliver(Cpu c, int vector, int errorCode, boolean hasErrorCode, boolean software, long returnRip) {
        if ((c.sys.cr.cr0 & 1) == 0) {
            deliverReal(c, vector, returnRip);
        } else {
            deliverProtected(c, vector, errorCode, hasErrorCode, software, returnRip);
        }
    }

    /** Real mode: the IVT entry at vector * 4 holds IP and CS; FLAGS, CS and IP are pushed. */
    private static void deliverReal(Cpu c, int vector, long returnRip) {
        SystemState s = c.sys;
        if (vector * 4 + 3 > s.idtLimit) {
            throw c.fault(CpuFault.GP, 0);
        }
        long entry = c.mem.read32(s.idtBase + vector * 4L);
        long sp = c.r[Cpu.RSP];
        try {
            c.push(2, c.rflags());
            c.push(2, s.selector[SystemState.CS]);
            c.push(2, returnRip);
        } catch (CpuFault f) {
            c.r[Cpu.RSP] = sp;
            throw f;
        }
        c.flagsOther &= ~(Flags.IF | Flags.TF | Flags.AC);
        int cs = (int) (entry >>> 16);
        Descriptors.setSegment(c, SystemState.CS, cs, (long) cs << 4, 0xFFFF, s.attributes[SystemState.CS]);
        c.rip = entry & 0xFFFF;
    }

    private static void deliverProtected(Cpu c, int vector, int errorCode, boolean hasErrorCode, boolean software,
            long returnRip) {
        SystemState s = c.sys;
        int idtError = vector * 8 + 2 + (software ? 0 : 1);
        if (vector * 8 + 7 > s.idtLimit) {
            throw c.fault(CpuFault.GP, idtError);
        }
        long gate = Descriptors.readImplicit64(c, s.idtBase + vector * 8L);
        int type = (int) (gate >>> 40) & 0xF;
        if (type == 0x5) {
            throw new EmulationFailure("task gates are not emulated (vector " + vector + ")");
        }
        if (type != 0xE && type != 0xF && type != 0x6 && type != 0x7) {
            throw c.fault(CpuFault.GP, idtError);
        }
        if (software && Descriptors.dpl(gate) < c.cpl) {
            throw c.fault(CpuFault.GP, idtError);
        }
        if (!Descriptors.present(gate)) {
            throw c.fault(CpuFault.NP, idtError);
        }
        int size = (type & 8) != 0 ? 4 : 2;
        int selector = (int) (gate >>> 16) & 0xFFFF;
        long target = (gate & 0xFFFF) | ((gate >>> 32) & 0xFFFF0000L);
        long cs = Descriptors.codeDescriptor(c, selector);
        boolean conforming = (cs & (1L << 42)) != 0;
        int newCpl = conforming ? c.cpl : Descriptors.dpl(cs);
        if (newCpl > c.cpl) {
            throw c.fault(CpuFault.GP, selector & ~3);
        }
        // Keep what a failed delivery must restore.
        int oldCpl = c.cpl;
        long oldRsp = c.r[Cpu.RSP];
        int oldSs = s.selector[SystemState.SS];
        long oldSsBase = s.base[SystemState.SS];
        long oldSsLimit = s.limit[SystemState.SS];
        int oldSsAttributes = s.attributes[SystemState.SS];
        long oldFlags = c.rflags();
        int oldCs = s.selector[SystemState.CS];
        try {
            if (newCpl < oldCpl) {
                long esp = Descriptors.readImplicit64(c, s.trBase + 4 + newCpl * 8L) & 0xFFFFFFFFL;
                int ss = (int) Descriptors.readImplicit64(c, s.trBase + 8 + newCpl * 8L) & 0xFFFF;
                c.setCpl(newCpl);
                Descriptors.loadData(c, SystemState.SS, ss);
                c.r[Cpu.RSP] = esp;
                c.push(size, oldSs);
                c.push(size, oldRsp);
            }
            c.push(size, oldFlags);
            c.push(size, oldCs);
            c.push(size, returnRip);
            if (hasErrorCode) {
                c.push(size, errorCode);
            }
        } catch (CpuFault f) {
            c.setCpl(oldCpl);
            Descriptors.setSegment(c, SystemState.SS, oldSs, oldSsBase, oldSsLimit, oldSsAttributes);
            c.r[Cpu.RSP] = oldRsp;
            throw f;
        }
        Descriptors.loadCode(c, selector, cs, newCpl);
        c.flagsOther &= ~FLAGS_CLEARED;
        if ((type & 1) == 0) {
            c.flagsOther &= ~Flags.IF;
        }
        c.rip = target;
    }

    /** IRET in real or protected mode (16- or 32-bit operand size). */
    static void iret(Cpu c, Insn i) {
        int size = i.opSize == 2 ? 2 : 4;
        long ip = c.mem.read(c.stackAddress(0), size);
        int selector = (int) c.mem.read(c.stackAddress(size), size) & 0xFFFF;
        long flags = c.mem.read(c.stackAddress(2L * size), size);
        long writable = size == 2 ? 0xFFFFL : 0x3F7FD5L;
        if ((c.sys.cr.cr0 & 1) == 0) {
            c.adjustStack(3L * size);
            Descriptors.setSegment(c, SystemState.CS, selector, (long) selector << 4, 0xFFFF,
                    c.sys.attributes[SystemState.CS]);
            c.setRflags(flags, writable & ~Flags.VM);
            c.rip = ip & (size == 2 ? 0xFFFF : 0xFFFFFFFFL);
            c.attention = true;
            return;
        }
        if ((c.flagsOther & Flags.NT) != 0) {
            throw new EmulationFailure("IRET to a nested task is not emulated");
        }
        if (size == 4 && c.cpl == 0 && (flags & Flags.VM) != 0) {
            throw new EmulationFailure("IRET to virtual-8086 mode is not emulated");
        }
        int rpl = selector & 3;
        if (rpl < c.cpl) {
            throw c.fault(CpuFault.GP, selector & ~3);
        }
        long d = Descriptors.codeDescriptor(c, selector);
        if (c.cpl > 0) {
            writable &= ~(3L << 12);
        }
        if (c.cpl > ((c.flagsOther >>> 12) & 3)) {
            writable &= ~Flags.IF;
        }
        if (rpl > c.cpl) {
            long esp = c.mem.read(c.stackAddress(3L * size), size);
            int ss = (int) c.mem.read(c.stackAddress(4L * size), size) & 0xFFFF;
            c.setRflags(flags, writable);
            Descriptors.loadCode(c, selector, d, rpl);
            Descriptors.loadData(c, SystemState.SS, ss);
            c.r[Cpu.RSP] = esp;
        } else {
            c.adjustStack(3L * size);
            c.setRflags(flags, writable);
            Descriptors.loadCode(c, selector, d, rpl);
        }
        c.rip = ip;
        c.attention = true;
    }
}
