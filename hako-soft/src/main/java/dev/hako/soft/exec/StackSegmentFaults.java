package dev.hako.soft.exec;

import dev.hako.soft.decode.Decoder;
import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;
import dev.hako.soft.fault.CpuFault;

/**
 * Which segment a non-canonical memory access referenced, worked out on the fault path only: in 64-bit mode
 * such an access raises #SS(0) when it references SS and #GP(0) otherwise (SDM vol. 3 §6.15, interrupt 12;
 * vol. 1 §3.3.7.1). SS is the segment of the stack operations (PUSH, POP, CALL, RET, ENTER, LEAVE, PUSHF,
 * POPF, IRET and far RET) and of a memory operand whose base is RSP or RBP; in 64-bit mode the CS, DS, ES and
 * SS override prefixes are ignored, so only FS and GS take such an operand elsewhere (checked on the host).
 * The MMU raises #GP(0) without knowing the segment, so the fast path carries none; the run loop decodes the
 * faulting instruction again here and turns the fault into #SS(0) when it referenced the stack.
 */
final class StackSegmentFaults {
    private final Decoder decoder;
    private final Insn insn = new Insn();

    StackSegmentFaults(Decoder decoder) {
        this.decoder = decoder;
    }

    /** Makes {@code f} #SS(0) if it is a non-canonical access that the instruction at RIP made through SS. */
    void classify(Cpu c, CpuFault f) {
        if (!f.isNonCanonical() || c.mode != Cpu.MODE_64) {
            return;
        }
        long linear = f.linear();
        try {
            decoder.decode(c, c.rip, insn);
        } catch (CpuFault refetch) {
            f.nonCanonical(linear); // the code changed under it: leave the fault as the MMU raised it
            return;
        }
        if (referencesStack(c, insn, linear)) {
            f.raise(CpuFault.SS, 0, true, 0);
        }
    }

    /** True if the access of {@code i} to the non-canonical {@code linear} went through SS. */
    static boolean referencesStack(Cpu c, Insn i, long linear) {
        boolean stackOperand = !i.rmIsReg && i.segment == Cpu.SEG_NONE && (i.base == Cpu.RSP || i.base == Cpu.RBP);
        if (stackOperand || !usesStack(i)) {
            return stackOperand;
        }
        // A stack operation with another memory operand (PUSH [rax], POP [rax], CALL [rax]): which one faulted?
        return i.rmIsReg || c.ea(i) != linear;
    }

    /** The instructions that push or pop (their implicit references are to SS). */
    private static boolean usesStack(Insn i) {
        int op = i.opcode;
        int reg = (i.modrm >>> 3) & 7;
        if (i.map == OpcodeTable.MAP_0F) {
            return op == 0xA0 || op == 0xA1 || op == 0xA8 || op == 0xA9; // push/pop fs, gs
        }
        if (i.map != OpcodeTable.ONE_BYTE) {
            return false;
        }
        return switch (op) {
            case 0x68, 0x6A, 0x9C, 0x9D, 0xC2, 0xC3, 0xC8, 0xC9, 0xCA, 0xCB, 0xCF, 0xE8 -> true;
            case 0x8F -> reg == 0;
            case 0xFF -> reg == 2 || reg == 3 || reg == 6;
            default -> op >= 0x50 && op <= 0x5F;
        };
    }
}
