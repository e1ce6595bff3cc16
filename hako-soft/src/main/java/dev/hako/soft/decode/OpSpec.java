package dev.hako.soft.decode;

import dev.hako.soft.exec.Exec;

/**
 * One entry of an opcode map: how to decode the instruction (ModRM, immediate kind, size rules) and what
 * carries it out. Composite entries select a further entry by mandatory prefix, by ModRM.reg, by register
 * versus memory form, or by ModRM.rm.
 */
public final class OpSpec {
    // Decoding rules (bit flags).
    public static final int MODRM = 1;
    /** Byte operation: operand size 1, and both ModRM operands are byte registers. */
    public static final int BYTE = 1 << 1;
    /** Only the r/m operand is a byte register (movzx, movsx, setcc). */
    public static final int BYTE_RM = 1 << 2;
    /** Operand size defaults to 64 bits in long mode (push, pop, near branches); 66h gives 16. */
    public static final int D64 = 1 << 3;
    /** Operand size is always 64 bits. */
    public static final int F64 = 1 << 4;
    /** The register operand is in the low three opcode bits (push r, mov r,imm, bswap, xchg). */
    public static final int OPREG = 1 << 5;
    /** Transfers control: ends a decoded block. */
    public static final int ENDS_BLOCK = 1 << 6;
    /** A LOCK prefix is allowed (with a memory destination). */
    public static final int LOCKABLE = 1 << 7;
    /** Only the memory form exists; the register form is #UD. */
    public static final int MEM_ONLY = 1 << 8;
    /** Only the register form exists; the memory form is #UD. */
    public static final int REG_ONLY = 1 << 9;
    /**
     * A general-purpose instruction in a prefix-selected slot (BSF beside TZCNT): 66h keeps its meaning as
     * the operand-size prefix instead of being consumed as a mandatory prefix.
     */
    public static final int KEEP_66 = 1 << 10;

    // Immediate kinds.
    public static final int IMM_NONE = 0, IB = 1, IW = 2, IZ = 3, IV = 4, IW_IB = 5, JB = 6, JZ = 7, MOFFS = 8,
            IB_UNSIGNED = 9;
    /** A far pointer ptr16:16 or ptr16:32 (legacy JMP/CALL far): offset in imm, selector in imm2. */
    public static final int FAR_POINTER = 10;

    public final String mnemonic;
    public final int flags;
    public final int immediate;
    public final Exec exec;
    /** A parameter for handlers shared by several entries (the ALU operation, a condition code). */
    public final int sub;

    OpSpec[] byPrefix; // none, 66, F3, F2
    OpSpec[] byReg;    // ModRM.reg
    OpSpec[] byRm;     // ModRM.rm, register form only
    OpSpec memForm;    // composite: memory form
    OpSpec regForm;    // composite: register form

    public OpSpec(String mnemonic, int flags, int immediate, int sub, Exec exec) {
        this.mnemonic = mnemonic;
        this.flags = flags;
        this.immediate = immediate;
        this.sub = sub;
        this.exec = exec;
    }

    static OpSpec composite(int flags) {
        return new OpSpec(null, flags, IMM_NONE, 0, null);
    }

    boolean isComposite() {
        return exec == null;
    }

    public boolean has(int flag) {
        return (flags & flag) != 0;
    }

    @Override
    public String toString() {
        return mnemonic;
    }
}
