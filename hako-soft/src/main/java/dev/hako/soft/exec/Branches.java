package dev.hako.soft.exec;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;

/** Recognizes the relative branches that a translated trace may run through (its side exits and joins). */
public final class Branches {
    private Branches() {}

    /** Jcc rel8 or rel32. */
    public static boolean isConditional(Insn i) {
        return "j".equals(i.spec.mnemonic) && (i.map == OpcodeTable.ONE_BYTE && i.opcode >= 0x70 && i.opcode <= 0x7F
                || i.map == OpcodeTable.MAP_0F && i.opcode >= 0x80 && i.opcode <= 0x8F);
    }

    /** JMP rel8 or rel32. */
    public static boolean isDirectJump(Insn i) {
        return "jmp".equals(i.spec.mnemonic) && i.map == OpcodeTable.ONE_BYTE && (i.opcode == 0xE9 || i.opcode == 0xEB);
    }
}
