package dev.hako.vmm.machine;

import dev.hako.core.x86.X86CpuState;
import dev.hako.vmm.boot.BootState;
import dev.hako.vmm.boot.SegmentState;

/** The boot processor's starting registers, from a kernel loader's {@link BootState}. */
final class BootStates {
    private BootStates() {}

    static X86CpuState toCpuState(BootState b) {
        X86CpuState s = new X86CpuState();
        s.rip = b.rip();
        s.gpr[4] = b.rsp();
        s.gpr[6] = b.rsi();
        s.gpr[3] = b.rbx();
        s.gpr[0] = b.rax();
        s.rflags = b.rflags() | 2;
        s.cr0 = b.cr0();
        s.cr3 = b.cr3();
        s.cr4 = b.cr4();
        s.efer = b.efer();
        s.gdtBase = b.gdt().base();
        s.gdtLimit = b.gdt().limit();
        s.idtBase = b.idt().base();
        s.idtLimit = b.idt().limit();
        SegmentState[] segments = {b.es(), b.cs(), b.ss(), b.ds(), b.fs(), b.gs()};
        for (int i = 0; i < 6; i++) {
            s.selector[i] = segments[i].selector();
            s.segmentBase[i] = segments[i].base();
            s.segmentLimit[i] = segments[i].limit();
            s.segmentAttributes[i] = segments[i].attributes();
        }
        s.trSelector = b.tr().selector();
        s.trBase = b.tr().base();
        s.trLimit = (int) b.tr().limit();
        s.trAttributes = b.tr().attributes();
        s.ldtSelector = b.ldtr().selector();
        s.ldtBase = b.ldtr().base();
        s.ldtLimit = (int) b.ldtr().limit();
        return s;
    }
}
