package dev.hako.soft.decode;

import dev.hako.soft.exec.Exec;

/**
 * A decoded instruction, made once per guest code location and reused every time it runs. Branch targets
 * and RIP-relative addresses are resolved at decode time, since a decoded instruction belongs to one
 * address.
 */
public final class Insn {
    public OpSpec spec;
    public Exec exec;
    public long addr;
    /** Address of the next instruction. */
    public long next;
    public int length;
    /** Operand size in bytes: 1, 2, 4 or 8. */
    public int opSize;
    /** Address size in bytes: 4 (67h) or 8. */
    public int addrSize;
    /** ModRM.reg (with REX.R), or the register of an OPREG opcode; byte registers 16..19 are AH..BH. */
    public int reg;
    /** ModRM.rm as a register (with REX.B) when {@link #rmIsReg}. */
    public int rm;
    public boolean rmIsReg;
    /** Memory operand: base and index registers (-1 for none), scale shift, displacement. */
    public int base = -1;
    public int index = -1;
    public int scale;
    public long disp;
    /** The memory operand was RIP-relative: {@link #disp} already holds the absolute address. */
    public boolean ripRelative;
    public int segment;
    /** Immediate (sign-extended), or the absolute target of a relative branch; a second one for ENTER. */
    public long imm;
    public long imm2;
    /** 0, or REP (F3) / REPNE (F2) when not consumed as a mandatory prefix. */
    public int rep;
    public boolean lock;
    /**
     * The prefix column (OpcodeTable.NP, P66, PF3, PF2) that chose the instruction in a prefix-keyed opcode
     * slot, else NP: it tells an SSE form (66) from the MMX one (none) of the same mnemonic.
     */
    public int mandatoryPrefix;
    public boolean rexW;
    public boolean hasRex;
    /** Handler parameter from the opcode map. */
    public int sub;
    public int opcode;
    /** The opcode map {@link #opcode} is from (OpcodeTable.ONE_BYTE, MAP_0F, ...). */
    public int map;
    /** The ModRM byte as fetched (0 when the instruction has none); the x87 records it in FOP. */
    public int modrm;

    public static final int REP = 0xF3, REPNE = 0xF2;

    @Override
    public String toString() {
        return Disassembler.format(this);
    }
}
