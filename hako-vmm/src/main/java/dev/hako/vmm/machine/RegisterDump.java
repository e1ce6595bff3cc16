package dev.hako.vmm.machine;

import dev.hako.core.memory.GuestMemory;
import dev.hako.core.x86.X86CpuState;
import dev.hako.soft.decode.Disassembler;
import dev.hako.vmm.debug.GuestCode;
import java.util.List;

/**
 * A vCPU's registers in the layout of QEMU's "info registers", for triple faults and emulation failures, with
 * the instructions at RIP when guest memory is at hand.
 */
public final class RegisterDump {
    private static final String[] GPR = {"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI", "R8", "R9",
        "R10", "R11", "R12", "R13", "R14", "R15"};
    private static final String[] SEG = {"ES", "CS", "SS", "DS", "FS", "GS"};

    private RegisterDump() {}

    public static String format(int vcpu, X86CpuState s) {
        StringBuilder sb = new StringBuilder("vCPU ").append(vcpu).append('\n');
        for (int i = 0; i < 16; i++) {
            sb.append(String.format("%-3s=%016x%s", GPR[i], s.gpr[i], i % 4 == 3 ? "\n" : " "));
        }
        sb.append(String.format("RIP=%016x RFL=%08x%n", s.rip, s.rflags));
        for (int i = 0; i < 6; i++) {
            sb.append(String.format("%s =%04x %016x %08x %04x%n", SEG[i], s.selector[i], s.segmentBase[i],
                    s.segmentLimit[i], s.segmentAttributes[i]));
        }
        sb.append(String.format("TR =%04x %016x %08x%n", s.trSelector, s.trBase, s.trLimit));
        sb.append(String.format("GDT=     %016x %08x%nIDT=     %016x %08x%n", s.gdtBase, s.gdtLimit, s.idtBase,
                s.idtLimit));
        sb.append(String.format("CR0=%08x CR2=%016x CR3=%016x CR4=%08x%n", s.cr0, s.cr2, s.cr3, s.cr4));
        sb.append(String.format("EFER=%016x%n", s.efer));
        return sb.toString();
    }

    /** The registers and then the next {@code CODE_LINES} instructions at RIP (or a line saying none is mapped). */
    public static String format(int vcpu, X86CpuState s, GuestMemory memory) {
        StringBuilder sb = new StringBuilder(format(vcpu, s));
        List<Disassembler.Instruction> code = GuestCode.atRip(memory, s, CODE_LINES);
        if (code.isEmpty()) {
            return sb.append(String.format("Code: RIP %x is not mapped%n", s.rip)).toString();
        }
        sb.append("Code:\n");
        for (Disassembler.Instruction i : code) {
            sb.append(String.format("  %s%x: %s%n", i.address() == s.rip ? "=> " : "   ", i.address(), i.text()));
        }
        return sb.toString();
    }

    private static final int CODE_LINES = 4;
}
