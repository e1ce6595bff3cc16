package dev.hako.soft;

import dev.hako.core.x86.X86CpuState;
import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.FxsaveArea;
import dev.hako.soft.exec.SystemState;

/** Copies architectural state between the soft CPU and {@link X86CpuState}. */
final class CpuStateTransfer {
    private CpuStateTransfer() {}

    static X86CpuState save(Cpu c) {
        X86CpuState s = new X86CpuState();
        SystemState sys = c.sys;
        System.arraycopy(c.r, 0, s.gpr, 0, 16);
        s.rip = c.rip;
        s.rflags = c.rflags();
        for (int seg = 0; seg < 6; seg++) {
            s.selector[seg] = sys.selector[seg];
            s.segmentLimit[seg] = sys.limit[seg];
            s.segmentAttributes[seg] = sys.attributes[seg];
            s.segmentBase[seg] = seg == SystemState.FS ? c.fsBase : seg == SystemState.GS ? c.gsBase : sys.base[seg];
        }
        s.gdtBase = sys.gdtBase;
        s.gdtLimit = sys.gdtLimit;
        s.idtBase = sys.idtBase;
        s.idtLimit = sys.idtLimit;
        s.ldtSelector = sys.ldtSelector;
        s.ldtBase = sys.ldtBase;
        s.ldtLimit = sys.ldtLimit;
        s.trSelector = sys.trSelector;
        s.trBase = sys.trBase;
        s.trLimit = sys.trLimit;
        s.cr0 = sys.cr.cr0;
        s.cr2 = sys.cr.cr2;
        s.cr3 = sys.cr.cr3;
        s.cr4 = sys.cr.cr4;
        s.efer = sys.cr.efer;
        s.star = sys.star;
        s.lstar = sys.lstar;
        s.cstar = sys.cstar;
        s.sfmask = sys.sfmask;
        s.kernelGsBase = c.kernelGsBase;
        s.sysenterCs = sys.sysenterCs;
        s.sysenterEsp = sys.sysenterEsp;
        s.sysenterEip = sys.sysenterEip;
        s.pat = sys.pat;
        s.tsc = c.tsc();
        s.apicBase = sys.apicBase;
        s.kvmStealTime = sys.stealTimeMsr;
        s.specCtrl = sys.specCtrl;
        System.arraycopy(sys.dr, 0, s.debugAddress, 0, s.debugAddress.length);
        s.dr6 = sys.dr[6];
        s.dr7 = sys.dr[7];
        s.halted = sys.halted;
        FxsaveArea.store(c, s.fxsave, true);
        return s;
    }

    static void load(Cpu c, X86CpuState s) {
        SystemState sys = c.sys;
        System.arraycopy(s.gpr, 0, c.r, 0, 16);
        c.rip = s.rip;
        for (int seg = 0; seg < 6; seg++) {
            sys.selector[seg] = s.selector[seg];
            sys.limit[seg] = s.segmentLimit[seg];
            sys.attributes[seg] = s.segmentAttributes[seg];
            sys.base[seg] = s.segmentBase[seg];
        }
        c.fsBase = s.segmentBase[SystemState.FS];
        c.gsBase = s.segmentBase[SystemState.GS];
        sys.gdtBase = s.gdtBase;
        sys.gdtLimit = s.gdtLimit;
        sys.idtBase = s.idtBase;
        sys.idtLimit = s.idtLimit;
        sys.ldtSelector = s.ldtSelector;
        sys.ldtBase = s.ldtBase;
        sys.ldtLimit = s.ldtLimit;
        sys.trSelector = s.trSelector;
        sys.trBase = s.trBase;
        sys.trLimit = s.trLimit;
        sys.cr.cr0 = s.cr0;
        sys.cr.cr2 = s.cr2;
        sys.cr.cr3 = s.cr3;
        sys.cr.cr4 = s.cr4;
        sys.cr.efer = s.efer;
        sys.star = s.star;
        sys.lstar = s.lstar;
        sys.cstar = s.cstar;
        sys.sfmask = s.sfmask;
        c.kernelGsBase = s.kernelGsBase;
        sys.sysenterCs = s.sysenterCs;
        sys.sysenterEsp = s.sysenterEsp;
        sys.sysenterEip = s.sysenterEip;
        sys.pat = s.pat;
        sys.tscOffset = s.tsc - (c.tsc() - sys.tscOffset);
        sys.apicBase = s.apicBase;
        sys.stealTimeMsr = s.kvmStealTime;
        sys.specCtrl = s.specCtrl;
        sys.halted = s.halted;
        FxsaveArea.load(c, s.fxsave, true);
        c.setRflags(s.rflags, -1L);
        c.setCpl((s.cr0 & 1) == 0 ? 0 : s.selector[SystemState.CS] & 3);
        c.updateMode();
        c.mem.flush();
        System.arraycopy(s.debugAddress, 0, sys.dr, 0, s.debugAddress.length);
        sys.dr[6] = s.dr6;
        sys.dr[7] = s.dr7;
        c.debugRegistersWritten.run(); // what DR7 arms is armed again, after CR4 (DE) is in place
    }
}
