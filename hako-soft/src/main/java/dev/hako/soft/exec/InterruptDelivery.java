package dev.hako.soft.exec;

import dev.hako.soft.fault.CpuFault;

/**
 * Exceptions and interrupts through the IDT in long mode (SDM vol. 3 ch. 6.14): 16-byte gates, privilege
 * change with the TSS's RSPn, IST stacks, the 16-byte aligned frame SS:RSP, RFLAGS, CS:RIP and error code;
 * the double-fault rules (table 6-5) and the triple fault that shuts the vCPU down. From compatibility mode
 * (32-bit code under long mode) the frame is the same 64-bit one, and the handler runs in the gate's 64-bit
 * code. Real and protected mode go through {@link LegacyInterrupts}.
 */
public final class InterruptDelivery {
    private static final long FLAGS_CLEARED = Flags.TF | Flags.NT | Flags.RF | Flags.VM;
    /**
     * The fault-class vectors: their frame carries RF set (SDM vol. 3 §17.3.1.1), so that an instruction breakpoint
     * on the faulting instruction does not fire again when the handler returns to it. #DB is a fault for an
     * instruction breakpoint (RF stays clear) and for general detect (which sets RF where it is raised).
     */
    private static final int FAULTS = 1 << CpuFault.DE | 1 << CpuFault.BR | 1 << CpuFault.UD | 1 << CpuFault.NM
            | 1 << CpuFault.TS | 1 << CpuFault.NP | 1 << CpuFault.SS | 1 << CpuFault.GP | 1 << CpuFault.PF
            | 1 << CpuFault.MF | 1 << CpuFault.AC | 1 << CpuFault.XM;

    private InterruptDelivery() {}

    /** Delivers the fault {@code f} raised at {@code cpu.rip}, escalating to #DF or a triple fault. */
    public static void exception(Cpu c, CpuFault f) {
        int vector = f.vector();
        if ((FAULTS >>> vector & 1) != 0) {
            c.flagsOther |= Flags.RF; // pushed in the frame, then cleared with the handler's entry
        }
        int code = f.errorCode();
        boolean hasCode = f.hasErrorCode();
        while (true) {
            try {
                deliver(c, vector, code, hasCode, false, c.rip);
                return;
            } catch (CpuFault nested) {
                if (vector == CpuFault.DF) {
                    c.sys.shutdown = true; // triple fault
                    c.attention = true;
                    return;
                }
                int second = nested.vector();
                if (isDoubleFault(vector, second)) {
                    vector = CpuFault.DF;
                    code = 0;
                    hasCode = true;
                } else {
                    vector = second;
                    code = nested.errorCode();
                    hasCode = nested.hasErrorCode();
                }
            }
        }
    }

    private static boolean contributory(int v) {
        return v == CpuFault.DE || v == CpuFault.TS || v == CpuFault.NP || v == CpuFault.SS || v == CpuFault.GP;
    }

    private static boolean isDoubleFault(int first, int second) {
        return (contributory(first) && contributory(second))
                || (first == CpuFault.PF && (contributory(second) || second == CpuFault.PF));
    }

    /** An external interrupt, taken at an instruction boundary with RIP as the return address. */
    public static void external(Cpu c, int vector) {
        try {
            deliver(c, vector, 0, false, false, c.rip);
        } catch (CpuFault f) {
            exception(c, f);
        }
    }

    /** INT n, INT3: the return address is the next instruction, and the gate's DPL is checked. */
    static void software(Cpu c, int vector, long nextRip) {
        raisedByInstruction(c, vector, true, nextRip);
    }

    /** A trap an instruction raises as an exception (INT1): the return address is the next instruction. */
    static void trap(Cpu c, int vector, long nextRip) {
        raisedByInstruction(c, vector, false, nextRip);
    }

    private static void raisedByInstruction(Cpu c, int vector, boolean software, long nextRip) {
        try {
            deliver(c, vector, 0, false, software, nextRip);
        } catch (CpuFault f) {
            exception(c, f); // reported at the instruction: the caller left RIP there
        }
    }

    static void deliver(Cpu c, int vector, int errorCode, boolean hasErrorCode, boolean software, long returnRip) {
        SystemState s = c.sys;
        s.halted = false;
        if (!s.cr.longMode()) {
            LegacyInterrupts.deliver(c, vector, errorCode, hasErrorCode, software, returnRip);
            return;
        }
        int idtError = vector * 8 + 2 + (software ? 0 : 1);
        if (vector * 16 + 15 > s.idtLimit) {
            throw c.fault(CpuFault.GP, idtError);
        }
        long lo = Descriptors.readImplicit64(c, s.idtBase + vector * 16L);
        long hi = Descriptors.readImplicit64(c, s.idtBase + vector * 16L + 8);
        int type = (int) (lo >>> 40) & 0xF;
        if (type != 0xE && type != 0xF) {
            throw c.fault(CpuFault.GP, idtError);
        }
        if (software && Descriptors.dpl(lo) < c.cpl) {
            throw c.fault(CpuFault.GP, idtError);
        }
        if (!Descriptors.present(lo)) {
            throw c.fault(CpuFault.NP, idtError);
        }
        int selector = (int) (lo >>> 16) & 0xFFFF;
        long target = (lo & 0xFFFF) | ((lo >>> 32) & 0xFFFF0000L) | (hi << 32);
        int ist = (int) (lo >>> 32) & 7;
        long cs = Descriptors.codeDescriptor(c, selector);
        int newCpl = Descriptors.dpl(cs);
        if ((cs & (1L << 42)) != 0) {
            newCpl = c.cpl; // conforming code keeps the CPL
        }
        if (newCpl > c.cpl) {
            throw c.fault(CpuFault.GP, selector & ~3);
        }
        long rsp = c.r[Cpu.RSP];
        if (ist != 0) {
            rsp = Descriptors.readImplicit64(c, s.trBase + 36 + (ist - 1) * 8L);
        } else if (newCpl < c.cpl) {
            rsp = Descriptors.readImplicit64(c, s.trBase + 4 + newCpl * 8L);
        }
        rsp &= ~15L;
        long oldRsp = c.r[Cpu.RSP];
        int oldSs = s.selector[SystemState.SS];
        int oldCs = s.selector[SystemState.CS];
        long oldFlags = c.rflags();
        int oldCpl = c.cpl;
        // Switch privilege first: the new stack is written with the handler's rights.
        if (newCpl != oldCpl) {
            c.setCpl(newCpl);
        }
        try {
            long[] frame = c.frameScratch;
            int n = 0;
            frame[n++] = oldSs;
            frame[n++] = oldRsp;
            frame[n++] = oldFlags;
            frame[n++] = oldCs;
            frame[n++] = returnRip;
            if (hasErrorCode) {
                frame[n++] = errorCode & 0xFFFFFFFFL;
            }
            for (int k = 0; k < n; k++) {
                c.mem.write64(rsp - 8L * (k + 1), frame[k]);
            }
            rsp -= 8L * n;
        } catch (CpuFault f) {
            if (newCpl != oldCpl) {
                c.setCpl(oldCpl);
            }
            throw f;
        }
        if (newCpl != oldCpl) {
            Descriptors.setSegment(c, SystemState.SS, newCpl, 0, 0, 0);
        }
        Descriptors.loadCode(c, selector, cs, newCpl);
        c.r[Cpu.RSP] = rsp;
        c.flagsOther &= ~FLAGS_CLEARED;
        if (type == 0xE) {
            c.flagsOther &= ~Flags.IF;
        }
        c.rip = target;
    }
}
