package dev.hako.soft.translate;

import static java.lang.constant.ConstantDescs.CD_Integer;
import static java.lang.constant.ConstantDescs.CD_Long;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_long;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Shift;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.Label;
import java.lang.constant.MethodTypeDesc;

/**
 * Inline bytecode for integer arithmetic: the eight ALU operations, TEST, INC, DEC, NEG,
 * NOT, shifts and rotates by a constant or CL, SHLD/SHRD, and IMUL with a truncated result. Each leaves its flags as a
 * pending {@link FlagChain.Producer}.
 */
final class ArithmeticForms {
    static final int ADD = 0, OR = 1, ADC = 2, SBB = 3, AND = 4, SUB = 5, XOR = 6, CMP = 7;
    /** Jcc/SETcc condition code of "below": CF set. */
    private static final int CONDITION_B = 0x2;
    static final String[] ALU_NAMES = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};

    /** Where an operand comes from. */
    enum Operand { RM, REG, RAX, IMM }

    private ArithmeticForms() {}

    private static boolean memory(Insn i, Operand o) {
        return o == Operand.RM && !i.rmIsReg;
    }

    /** Pushes operand {@code o} at the instruction's size, zero-extended (an immediate masked to it). */
    private static void load(BlockEmitter e, Insn i, Operand o) {
        int size = i.opSize;
        switch (o) {
            case REG -> e.getReg(i.reg, size);
            case RAX -> e.getReg(Cpu.RAX, size);
            case IMM -> e.cob.loadConstant(i.imm & sizeMask(size));
            default -> {
                if (i.rmIsReg) {
                    e.getReg(i.rm, size);
                } else {
                    e.read(i, size);
                }
            }
        }
    }

    static long sizeMask(int size) {
        return size == 8 ? -1L : (1L << (size * 8)) - 1;
    }

    /** Reads the destination (a register, or memory through the scratch address) into a fresh local. */
    private static int loadDestination(BlockEmitter e, Insn i, Operand dst) {
        int a = e.newLong();
        if (memory(i, dst)) {
            e.eaToScratch(i);
            e.readScratch(i.opSize);
        } else {
            load(e, i, dst);
        }
        e.cob.lstore(a);
        return a;
    }

    /** Writes the long the {@code value} callback pushes to the destination. */
    private static void storeDestination(BlockEmitter e, Insn i, Operand dst, Runnable value) {
        if (memory(i, dst)) {
            e.scratchTarget();
            value.run();
            e.writeCall(i.opSize);
        } else {
            value.run();
            e.setReg(dst == Operand.RAX ? Cpu.RAX : dst == Operand.REG ? i.reg : i.rm, i.opSize);
        }
    }

    /** dst = dst op src for the eight ALU operations; ADC and SBB take CF as it is before them. */
    static boolean alu(BlockEmitter e, Insn i, int op, Operand dst, Operand src) {
        if (!ALU_NAMES[op].equals(i.spec.mnemonic)) {
            return false;
        }
        CodeBuilder cob = e.cob;
        int size = i.opSize;
        boolean withCarry = op == ADC || op == SBB;
        int carry = -1;
        if (withCarry) {
            e.flags.prepareCondition(CONDITION_B);
            carry = e.newLong();
            e.flags.pushCondition(CONDITION_B);
            cob.i2l().lstore(carry);
        }
        e.begin();
        int a = loadDestination(e, i, dst);
        int b = e.newLong();
        load(e, i, src);
        cob.lstore(b);
        int res = e.newLong();
        cob.lload(a).lload(b);
        switch (op) {
            case ADD -> cob.ladd();
            case ADC -> cob.ladd().lload(carry).ladd();
            case SBB -> cob.lsub().lload(carry).lsub();
            case OR -> cob.lor();
            case AND -> cob.land();
            case XOR -> cob.lxor();
            default -> cob.lsub(); // SUB, CMP
        }
        cob.lstore(res);
        if (op != CMP) {
            storeDestination(e, i, dst, () -> cob.lload(res));
        }
        int kind = switch (op) {
            case ADD -> FlagChain.ADD;
            case ADC -> FlagChain.ADC;
            case SBB -> FlagChain.SBB;
            case SUB, CMP -> FlagChain.SUB;
            default -> FlagChain.LOGIC;
        };
        e.flags.add(new FlagChain.Producer(kind, size, res, a, b, 0, carry));
        e.end();
        return true;
    }

    /** TEST: the AND of the operands sets the flags; nothing is written. */
    static boolean test(BlockEmitter e, Insn i, Operand dst, Operand src) {
        if (!"test".equals(i.spec.mnemonic)) {
            return false;
        }
        CodeBuilder cob = e.cob;
        e.begin();
        load(e, i, dst);
        if (src == Operand.IMM) {
            cob.loadConstant(i.imm);
        } else {
            load(e, i, src);
        }
        int res = e.newLong();
        cob.land().lstore(res);
        e.flags.add(new FlagChain.Producer(FlagChain.LOGIC, i.opSize, res, -1, -1, 0, 0));
        e.end();
        return true;
    }

    /** F6/F7 /2 NOT and /3 NEG. */
    static boolean notNeg(BlockEmitter e, Insn i, boolean neg) {
        if (!(neg ? "neg" : "not").equals(i.spec.mnemonic)) {
            return false;
        }
        CodeBuilder cob = e.cob;
        e.begin();
        int a = loadDestination(e, i, Operand.RM);
        if (!neg) {
            storeDestination(e, i, Operand.RM, () -> cob.lload(a).loadConstant(-1L).lxor());
            e.end();
            return true;
        }
        int zero = e.newLong();
        int res = e.newLong();
        cob.lconst_0().lstore(zero);
        cob.lload(a).lneg().lstore(res);
        storeDestination(e, i, Operand.RM, () -> cob.lload(res));
        e.flags.add(new FlagChain.Producer(FlagChain.SUB, i.opSize, res, zero, a, 0, 0));
        e.end();
        return true;
    }

    /** FE/FF /0 INC and /1 DEC: CF is kept, so the producer stacks on the chain. */
    static boolean incDec(BlockEmitter e, Insn i, boolean dec) {
        if (!(dec ? "dec" : "inc").equals(i.spec.mnemonic)) {
            return false;
        }
        CodeBuilder cob = e.cob;
        e.begin();
        int a = loadDestination(e, i, Operand.RM);
        int res = e.newLong();
        cob.lload(a).loadConstant(dec ? -1L : 1L).ladd().lstore(res);
        storeDestination(e, i, Operand.RM, () -> cob.lload(res));
        e.flags.add(new FlagChain.Producer(dec ? FlagChain.DEC : FlagChain.INC, i.opSize, res, a, -1, 0, 0));
        e.end();
        return true;
    }

    /** C0/C1 (by imm8) and D0/D1 (by one): ROL ROR SHL SHR SAL SAR; RCL and RCR fall back. */
    static boolean shiftByConstant(BlockEmitter e, Insn i, int count) {
        int op = i.sub;
        if (op == Shift.RCL || op == Shift.RCR) {
            return false;
        }
        CodeBuilder cob = e.cob;
        int size = i.opSize;
        int bits = size * 8;
        int masked = count & (size == 8 ? 63 : 31);
        e.begin();
        int a = loadDestination(e, i, Operand.RM);
        if (masked == 0) {
            if (i.rmIsReg && size == 4) {
                cob.lload(a);
                e.setReg(i.rm, 4); // a 32-bit destination is still written, zero-extended
            }
            e.end();
            return true;
        }
        storeDestination(e, i, Operand.RM, () -> {
            switch (op) {
                case Shift.SHL, Shift.SAL -> {
                    cob.lload(a).bipush(masked).lshl();
                    e.mask(size);
                }
                case Shift.SHR -> cob.lload(a).bipush(masked).lushr();
                case Shift.SAR -> {
                    cob.lload(a);
                    e.signExtend(size);
                    cob.bipush(masked).lshr();
                    e.mask(size);
                }
                default -> { // ROL, ROR
                    int n = masked % bits;
                    if (n != 0 && size >= 4) {
                        rotate(e, op == Shift.ROL, size, a, () -> cob.loadConstant(n));
                        return;
                    }
                    cob.lload(a);
                    if (n != 0) {
                        boolean left = op == Shift.ROL;
                        if (left) {
                            cob.bipush(n).lshl().lload(a).bipush(bits - n).lushr();
                        } else {
                            cob.bipush(n).lushr().lload(a).bipush(bits - n).lshl();
                        }
                        cob.lor();
                        e.mask(size);
                    }
                }
            }
        });
        e.flags.add(new FlagChain.Producer(FlagChain.SHIFT, size, -1, a, -1, op, masked));
        e.end();
        return true;
    }

    /**
     * D2/D3: ROL ROR SHL SHR SAL SAR by CL. A masked count of zero changes neither flags nor memory (a
     * register is rewritten unchanged, which zero-extends a 32-bit one, as the interpreter does).
     */
    static boolean shiftByCl(BlockEmitter e, Insn i) {
        int op = i.sub;
        if (op == Shift.RCL || op == Shift.RCR) {
            return false;
        }
        CodeBuilder cob = e.cob;
        int size = i.opSize;
        int bits = size * 8;
        e.begin();
        int a = loadDestination(e, i, Operand.RM);
        int count = e.newLong();
        e.reg64(Cpu.RCX);
        cob.loadConstant(size == 8 ? 63L : 31L).land().lstore(count);
        Runnable result = () -> {
            switch (op) {
                case Shift.SHL, Shift.SAL -> {
                    cob.lload(a).lload(count).l2i().lshl();
                    e.mask(size);
                }
                case Shift.SHR -> cob.lload(a).lload(count).l2i().lushr();
                case Shift.SAR -> {
                    cob.lload(a);
                    e.signExtend(size);
                    cob.lload(count).l2i().lshr();
                    e.mask(size);
                }
                default -> { // ROL, ROR: a rotate by count mod bits; by zero, both halves give a back
                    boolean left = op == Shift.ROL;
                    if (size >= 4) {
                        rotate(e, left, size, a, () -> cob.lload(count).l2i());
                        return;
                    }
                    cob.lload(a).lload(count).l2i().bipush(bits).irem();
                    if (left) {
                        cob.lshl();
                    } else {
                        cob.lushr();
                    }
                    cob.lload(a).bipush(bits).lload(count).l2i().bipush(bits).irem().isub();
                    if (left) {
                        cob.lushr();
                    } else {
                        cob.lshl();
                    }
                    cob.lor();
                    e.mask(size);
                }
            }
        };
        if (i.rmIsReg) {
            result.run();
            e.setReg(i.rm, size);
        } else {
            Label skip = cob.newLabel();
            cob.lload(count).lconst_0().lcmp().ifeq(skip);
            e.scratchTarget();
            result.run();
            e.writeCall(size);
            cob.labelBinding(skip);
        }
        e.flags.add(new FlagChain.Producer(FlagChain.SHIFT_CL, size, -1, a, -1, op, count));
        e.end();
        return true;
    }

    /**
     * 0F A4/AC SHLD/SHRD by imm8 and 0F A5/AD by CL, at 32 and 64 bits (16-bit counts above 16 have the
     * interpreter's own answer: those fall back). A masked count of zero changes neither flags nor memory;
     * a 32-bit register is still rewritten, zero-extended.
     */
    static boolean doubleShift(BlockEmitter e, Insn i, boolean byCl) {
        boolean left = i.sub == 0;
        if (!(left ? "shld" : "shrd").equals(i.spec.mnemonic) || i.opSize == 2) {
            return false;
        }
        CodeBuilder cob = e.cob;
        int size = i.opSize;
        int bits = size * 8;
        long countMask = size == 8 ? 63 : 31;
        e.begin();
        int a = loadDestination(e, i, Operand.RM);
        int count = e.newLong();
        if (byCl) {
            e.reg64(Cpu.RCX);
            cob.loadConstant(countMask).land();
        } else {
            cob.loadConstant(i.imm & countMask);
        }
        cob.lstore(count);
        int src = e.newLong();
        e.getReg(i.reg, size);
        cob.lstore(src);
        int res = e.newLong();
        cob.lload(a).lload(count).l2i();
        if (left) {
            cob.lshl().lload(src).bipush(bits).lload(count).l2i().isub().lushr();
        } else {
            cob.lushr().lload(src).bipush(bits).lload(count).l2i().isub().lshl();
        }
        cob.lor();
        e.mask(size);
        cob.lstore(res);
        int carry = e.newLong();
        cob.lload(a);
        if (left) {
            cob.bipush(bits).lload(count).l2i().isub();
        } else {
            cob.lload(count).l2i().iconst_1().isub();
        }
        cob.lushr().lconst_1().land().lstore(carry);
        Label zero = cob.newLabel();
        Label done = cob.newLabel();
        if (i.rmIsReg) {
            cob.lload(count).lconst_0().lcmp().ifeq(zero);
            cob.lload(res).goto_(done);
            cob.labelBinding(zero);
            cob.lload(a);
            cob.labelBinding(done);
            e.setReg(i.rm, size);
        } else {
            cob.lload(count).lconst_0().lcmp().ifeq(done);
            storeDestination(e, i, Operand.RM, () -> cob.lload(res));
            cob.labelBinding(done);
        }
        e.flags.add(new FlagChain.Producer(FlagChain.DOUBLE_SHIFT, size, res, a, carry, 0, count));
        e.end();
        return true;
    }

    /**
     * Pushes local {@code value} rotated at 32 or 64 bits by the int {@code count} pushes: {@link Integer#rotateLeft}
     * and its kin are one host instruction each, and take the count mod the width as x86 does.
     */
    private static void rotate(BlockEmitter e, boolean left, int size, int value, Runnable count) {
        CodeBuilder cob = e.cob;
        String name = left ? "rotateLeft" : "rotateRight";
        cob.lload(value);
        if (size == 8) {
            count.run();
            cob.invokestatic(CD_Long, name, MethodTypeDesc.of(CD_long, CD_long, CD_int));
        } else {
            cob.l2i();
            count.run();
            cob.invokestatic(CD_Integer, name, MethodTypeDesc.of(CD_int, CD_int, CD_int)).i2l();
            e.mask(4);
        }
    }

    /** 0F AF IMUL Gv,Ev and 69/6B IMUL Gv,Ev,imm: the low half of the product. */
    static boolean imul(BlockEmitter e, Insn i, boolean withImmediate) {
        if (!"imul".equals(i.spec.mnemonic)) {
            return false;
        }
        CodeBuilder cob = e.cob;
        int size = i.opSize;
        e.begin();
        int a = e.newLong();
        int b = e.newLong();
        if (withImmediate) {
            load(e, i, Operand.RM);
            cob.lstore(a);
            cob.loadConstant(i.imm).lstore(b);
        } else {
            load(e, i, Operand.REG);
            cob.lstore(a);
            load(e, i, Operand.RM);
            cob.lstore(b);
        }
        cob.lload(a).lload(b).lmul();
        e.setReg(i.reg, size);
        e.flags.add(new FlagChain.Producer(FlagChain.IMUL, size, -1, a, b, 0, 0));
        e.end();
        return true;
    }
}
