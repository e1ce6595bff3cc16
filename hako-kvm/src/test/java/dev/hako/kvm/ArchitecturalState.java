package dev.hako.kvm;

import dev.hako.core.x86.X86CpuState;
import java.util.ArrayList;
import java.util.List;

/**
 * The parts of an {@link X86CpuState} the architecture defines after a run, one line each, so two
 * accelerators' states compare with a readable diff. Left out: the TSC (KVM's runs at the host's rate), and
 * the accessed bit of the segment attributes: the soft CPU never sets it, and this host's KVM (PVM) sets it
 * on MOV to a segment register and far jumps but not on IRETQ, so neither is an oracle for it.
 */
final class ArchitecturalState {
    private static final String[] GPR = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"};
    private static final int ACCESSED = 1;
    private static final String[] SEGMENT = {"es", "cs", "ss", "ds", "fs", "gs"};

    private ArchitecturalState() {}

    static List<String> describe(X86CpuState s) {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            lines.add(String.format("%s = %#x", GPR[i], s.gpr[i]));
        }
        lines.add(String.format("rip = %#x", s.rip));
        lines.add(String.format("rflags = %#x", s.rflags));
        for (int seg = 0; seg < 6; seg++) {
            lines.add(String.format("%s = %#x base %#x limit %#x attributes %#x", SEGMENT[seg], s.selector[seg],
                    s.segmentBase[seg], s.segmentLimit[seg], s.segmentAttributes[seg] & ~ACCESSED));
        }
        lines.add(String.format("gdt = %#x/%#x, idt = %#x/%#x", s.gdtBase, s.gdtLimit, s.idtBase, s.idtLimit));
        lines.add(String.format("cr0 = %#x", s.cr0));
        lines.add(String.format("cr2 = %#x", s.cr2));
        lines.add(String.format("cr3 = %#x", s.cr3));
        lines.add(String.format("cr4 = %#x", s.cr4));
        lines.add(String.format("efer = %#x", s.efer));
        lines.add("halted = " + s.halted);
        return lines;
    }
}
