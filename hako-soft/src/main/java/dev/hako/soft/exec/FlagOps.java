package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpcodeTable.ONE_BYTE;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;

/** Flag control (SDM vol. 1 ch. 7.3.13): CLC, STC, CMC, CLD, STD. */
final class FlagOps {
    private FlagOps() {}

    static void register(OpcodeTable t) {
        t.op(ONE_BYTE, 0xF8, "clc", 0, IMM_NONE, 0, FlagOps::clc);
        t.op(ONE_BYTE, 0xF9, "stc", 0, IMM_NONE, 0, FlagOps::stc);
        t.op(ONE_BYTE, 0xF5, "cmc", 0, IMM_NONE, 0, FlagOps::cmc);
        t.op(ONE_BYTE, 0xFC, "cld", 0, IMM_NONE, 0, FlagOps::cld);
        t.op(ONE_BYTE, 0xFD, "std", 0, IMM_NONE, 0, FlagOps::std);
    }

    static void clc(Cpu c, Insn i) {
        c.setArithFlags(Flags.arith(c) & ~Flags.CF);
    }

    static void stc(Cpu c, Insn i) {
        c.setArithFlags(Flags.arith(c) | Flags.CF);
    }

    static void cmc(Cpu c, Insn i) {
        c.setArithFlags(Flags.arith(c) ^ Flags.CF);
    }

    static void cld(Cpu c, Insn i) {
        c.flagsOther &= ~Flags.DF;
    }

    static void std(Cpu c, Insn i) {
        c.flagsOther |= Flags.DF;
    }
}
