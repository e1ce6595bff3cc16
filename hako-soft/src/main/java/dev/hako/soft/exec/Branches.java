package dev.hako.soft.exec;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;
import dev.hako.soft.fault.CpuFault;

/**
 * Recognizes the relative branches that a translated trace may run through (its side exits and joins), and
 * checks branch targets: a near branch to a non-canonical address raises #GP(0) at the branch itself, with
 * RIP, RSP and RCX as they were (CALL pushes nothing, RET pops nothing, LOOP does not count), instead of
 * faulting on the fetch at the target (SDM vol. 2 JMP, Jcc, CALL, RET, LOOPcc; vol. 1 §3.3.7.1).
 */
public final class Branches {
    private Branches() {}

    /**
     * The handler the decoder gives a relative branch whose target is not canonical (only possible next to the
     * canonical boundary): it runs the branch and, if it was taken, undoes it and raises #GP(0). Known at
     * decode time, so canonical relative branches carry no check.
     */
    public static final Exec TO_NON_CANONICAL = Branches::toNonCanonical;

    private static void toNonCanonical(Cpu c, Insn i) {
        if (i.map == OpcodeTable.ONE_BYTE && (i.opcode == 0xE8 || i.opcode == 0xE9 || i.opcode == 0xEB)) {
            throw c.fault(CpuFault.GP, 0); // CALL and JMP are always taken (and CALL stores nothing)
        }
        long rsp = c.r[Cpu.RSP];
        long rcx = c.r[Cpu.RCX];
        i.spec.exec.exec(c, i);
        if (c.rip == i.imm) {
            c.r[Cpu.RSP] = rsp;
            c.r[Cpu.RCX] = rcx;
            throw c.fault(CpuFault.GP, 0);
        }
    }

    /** {@code target} if it is canonical, else #GP(0): for branches whose target comes from a register or memory. */
    public static long target(long target, Cpu c) {
        if ((target << 16 >> 16) != target) {
            throw c.fault(CpuFault.GP, 0);
        }
        return target;
    }

    /** Jcc rel8 or rel32 (to a canonical target). */
    public static boolean isConditional(Insn i) {
        return "j".equals(i.spec.mnemonic) && i.exec == i.spec.exec
                && (i.map == OpcodeTable.ONE_BYTE && i.opcode >= 0x70 && i.opcode <= 0x7F
                || i.map == OpcodeTable.MAP_0F && i.opcode >= 0x80 && i.opcode <= 0x8F);
    }

    /** JMP rel8 or rel32 (to a canonical target). */
    public static boolean isDirectJump(Insn i) {
        return "jmp".equals(i.spec.mnemonic) && i.exec == i.spec.exec && i.map == OpcodeTable.ONE_BYTE
                && (i.opcode == 0xE9 || i.opcode == 0xEB);
    }
}
