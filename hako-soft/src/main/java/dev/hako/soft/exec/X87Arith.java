package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpSpec.MEM_ONLY;
import static dev.hako.soft.decode.OpSpec.MODRM;
import static dev.hako.soft.decode.OpSpec.REG_ONLY;
import static dev.hako.soft.decode.OpcodeTable.ANY;
import static dev.hako.soft.decode.OpcodeTable.ONE_BYTE;
import static dev.hako.soft.exec.X87Operands.M16_INT;
import static dev.hako.soft.exec.X87Operands.M32_INT;
import static dev.hako.soft.exec.X87Operands.M32_REAL;
import static dev.hako.soft.exec.X87Operands.M64_REAL;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;
import dev.hako.soft.fpu.Comparison;
import dev.hako.soft.fpu.Extended80;

/**
 * x87 basic arithmetic and comparisons (SDM vol. 1 8.3.5-8.3.7): FADD FSUB FSUBR FMUL FDIV FDIVR in their
 * memory, integer-memory, register and popping forms; FCOM FCOMP FCOMPP FUCOM FUCOMP FUCOMPP FICOM FICOMP;
 * FCOMI FCOMIP FUCOMI FUCOMIP; FCMOVcc.
 *
 * <p>The ModRM.reg row names the operation the same way in every escape: 0 add, 1 mul, 2 com, 3 comp, 4 "ST(0)
 * minus the other operand", 5 "the other minus ST(0)", 6 and 7 likewise for divide. Only the destination
 * differs between D8 (ST(0)) and DC/DE (ST(i)), which is why DC /4 is the manual's FSUBR ST(i),ST(0).
 */
final class X87Arith {
    private static final int ADD = 0, MUL = 1, COM = 2, COMP = 3, SUB = 4, SUBR = 5, DIV = 6, DIVR = 7;
    private static final String[] NAMES = {"fadd", "fmul", "fcom", "fcomp", "fsub", "fsubr", "fdiv", "fdivr"};
    private static final String[] INT_NAMES = {"fiadd", "fimul", "ficom", "ficomp", "fisub", "fisubr", "fidiv",
        "fidivr"};
    /** DC/DE register forms: the manual names the reversed forms by their destination's point of view. */
    private static final String[] REVERSED_NAMES = {"fadd", "fmul", "fcom", "fcomp", "fsubr", "fsub", "fdivr",
        "fdiv"};
    /** Register-form sub bits. */
    private static final int TO_STI = 8, POP = 16;
    /** FCMOVcc condition codes for DA /0-3 and DB /0-3. */
    private static final int[] FCMOV_CC = {0x2, 0x4, 0x6, 0xA, 0x3, 0x5, 0x7, 0xB};
    private static final String[] FCMOV_NAMES = {"fcmovb", "fcmove", "fcmovbe", "fcmovu", "fcmovnb", "fcmovne",
        "fcmovnbe", "fcmovnu"};

    private X87Arith() {}

    static void register(OpcodeTable t) {
        int[][] memoryRows = {{0xD8, M32_REAL}, {0xDC, M64_REAL}, {0xDA, M32_INT}, {0xDE, M16_INT}};
        for (int[] row : memoryRows) {
            boolean integer = row[1] == M32_INT || row[1] == M16_INT;
            for (int op = 0; op < 8; op++) {
                t.addForm(ONE_BYTE, row[0], ANY, op, (integer ? INT_NAMES : NAMES)[op], MODRM | MEM_ONLY,
                        IMM_NONE, op | (row[1] << 3), X87Arith::arithMemory);
            }
        }
        for (int op = 0; op < 8; op++) {
            t.addForm(ONE_BYTE, 0xD8, ANY, op, NAMES[op], MODRM | REG_ONLY, IMM_NONE, op, X87Arith::arithRegister);
            // DC D0-DF and DE D0-D7 are the undocumented aliases of FCOM and FCOMP.
            t.addForm(ONE_BYTE, 0xDC, ANY, op, REVERSED_NAMES[op], MODRM | REG_ONLY, IMM_NONE,
                    op < COM || op > COMP ? op | TO_STI : op, X87Arith::arithRegister);
            if (op != COMP) {
                t.addForm(ONE_BYTE, 0xDE, ANY, op, op == COM ? "fcomp" : REVERSED_NAMES[op] + "p",
                        MODRM | REG_ONLY, IMM_NONE, op == COM ? COMP : op | TO_STI | POP, X87Arith::arithRegister);
            }
        }
        t.addRm(ONE_BYTE, 0xDE, 3, 1, "fcompp", 0, X87Arith::compareTwicePop);
        t.addRm(ONE_BYTE, 0xDA, 5, 1, "fucompp", 0, X87Arith::unorderedCompareTwicePop);
        // DD E0-EF: FUCOM, FUCOMP.
        t.addForm(ONE_BYTE, 0xDD, ANY, 4, "fucom", MODRM | REG_ONLY, IMM_NONE, 0, X87Arith::unorderedCompare);
        t.addForm(ONE_BYTE, 0xDD, ANY, 5, "fucomp", MODRM | REG_ONLY, IMM_NONE, POP, X87Arith::unorderedCompare);
        // FCOMI family: DB E8 fucomi, DB F0 fcomi, DF E8 fucomip, DF F0 fcomip (sub: 1 quiet, 2 pop).
        t.addForm(ONE_BYTE, 0xDB, ANY, 5, "fucomi", MODRM | REG_ONLY, IMM_NONE, 1, X87Arith::compareToFlags);
        t.addForm(ONE_BYTE, 0xDB, ANY, 6, "fcomi", MODRM | REG_ONLY, IMM_NONE, 0, X87Arith::compareToFlags);
        t.addForm(ONE_BYTE, 0xDF, ANY, 5, "fucomip", MODRM | REG_ONLY, IMM_NONE, 3, X87Arith::compareToFlags);
        t.addForm(ONE_BYTE, 0xDF, ANY, 6, "fcomip", MODRM | REG_ONLY, IMM_NONE, 2, X87Arith::compareToFlags);
        for (int n = 0; n < 8; n++) {
            t.addForm(ONE_BYTE, n < 4 ? 0xDA : 0xDB, ANY, n & 3, FCMOV_NAMES[n], MODRM | REG_ONLY, IMM_NONE,
                    FCMOV_CC[n], X87Arith::conditionalMove);
        }
    }

    /** f.se/f.sig = x op y for the arithmetic rows (x is ST(0), y the other operand). */
    private static void compute(Extended80 f, int op, int xSe, long xSig, int ySe, long ySig) {
        switch (op) {
            case ADD -> f.add(xSe, xSig, ySe, ySig);
            case MUL -> f.mul(xSe, xSig, ySe, ySig);
            case SUB -> f.sub(xSe, xSig, ySe, ySig);
            case SUBR -> f.sub(ySe, ySig, xSe, xSig);
            case DIV -> f.div(xSe, xSig, ySe, ySig);
            default -> f.div(ySe, ySig, xSe, xSig);
        }
    }

    static void arithMemory(Cpu c, Insn i) {
        X87 x = c.fpu;
        Extended80 f = X87Operands.begin(c, i);
        int op = i.sub & 7;
        X87Operands.load(c, i, f, i.sub >>> 3, true);
        if (op == COM || op == COMP) {
            compareAndPop(x, f, false, f.se, f.sig, false, op == COMP ? 1 : 0);
            return;
        }
        if (x.isEmpty(0)) {
            X87Operands.underflow(f);
        } else {
            int se0 = x.se(0);
            long sig0 = x.sig(0);
            compute(f, op, se0, sig0, f.se, f.sig);
            X87Operands.operandDenormal(f, se0, sig0);
        }
        if (X87Operands.finish(x, f)) {
            x.set(0, f.se, f.sig);
        }
    }

    static void arithRegister(Cpu c, Insn i) {
        X87 x = c.fpu;
        Extended80 f = X87Operands.begin(c, i);
        int op = i.sub & 7;
        int other = i.rm & 7;
        if (op == COM || op == COMP) {
            compareAndPop(x, f, x.isEmpty(other), x.se(other), x.sig(other), false, op == COMP ? 1 : 0);
            return;
        }
        if (x.isEmpty(0) || x.isEmpty(other)) {
            X87Operands.underflow(f);
        } else {
            compute(f, op, x.se(0), x.sig(0), x.se(other), x.sig(other));
        }
        if (X87Operands.finish(x, f)) {
            x.set((i.sub & TO_STI) != 0 ? other : 0, f.se, f.sig);
            if ((i.sub & POP) != 0) {
                x.pop();
            }
        }
    }

    /** Compares ST(0) with (se, sig), sets C3 C2 C0 and pops {@code pops} times. */
    private static void compareAndPop(X87 x, Extended80 f, boolean otherEmpty, int se, long sig, boolean quiet,
            int pops) {
        int result;
        if (otherEmpty || x.isEmpty(0)) {
            X87Operands.underflow(f);
            result = Comparison.UNORDERED;
        } else {
            result = Comparison.compare(f, x.se(0), x.sig(0), se, sig, quiet);
            X87Operands.operandDenormal(f, x.se(0), x.sig(0));
        }
        boolean write = X87Operands.finish(x, f);
        x.fsw = (x.fsw & ~(X87.C0 | X87.C2 | X87.C3)) | Comparison.conditionBits(result);
        if (write) {
            for (int n = 0; n < pops; n++) {
                x.pop();
            }
        }
    }

    static void unorderedCompare(Cpu c, Insn i) {
        X87 x = c.fpu;
        Extended80 f = X87Operands.begin(c, i);
        int other = i.rm & 7;
        compareAndPop(x, f, x.isEmpty(other), x.se(other), x.sig(other), true, (i.sub & POP) != 0 ? 1 : 0);
    }

    static void compareTwicePop(Cpu c, Insn i) {
        twiceWithPops(c, i, false);
    }

    static void unorderedCompareTwicePop(Cpu c, Insn i) {
        twiceWithPops(c, i, true);
    }

    private static void twiceWithPops(Cpu c, Insn i, boolean quiet) {
        X87 x = c.fpu;
        Extended80 f = X87Operands.begin(c, i);
        compareAndPop(x, f, x.isEmpty(1), x.se(1), x.sig(1), quiet, 2);
    }

    /** FCOMI/FUCOMI(P): ZF PF CF from the comparison, OF SF AF cleared. sub bit 0: quiet, bit 1: pop. */
    static void compareToFlags(Cpu c, Insn i) {
        X87 x = c.fpu;
        Extended80 f = X87Operands.begin(c, i);
        int other = i.rm & 7;
        int result;
        if (x.isEmpty(0) || x.isEmpty(other)) {
            X87Operands.underflow(f);
            result = Comparison.UNORDERED;
        } else {
            result = Comparison.compare(f, x.se(0), x.sig(0), x.se(other), x.sig(other), (i.sub & 1) != 0);
        }
        boolean write = X87Operands.finish(x, f);
        c.setArithFlags(SoftFloat.orderFlags(result));
        if (write && (i.sub & 2) != 0) {
            x.pop();
        }
    }

    static void conditionalMove(Cpu c, Insn i) {
        X87 x = c.fpu;
        Extended80 f = X87Operands.begin(c, i);
        int other = i.rm & 7;
        if (x.isEmpty(0) || x.isEmpty(other)) {
            X87Operands.underflow(f);
            if (X87Operands.finish(x, f)) {
                x.set(0, f.se, f.sig);
            }
            return;
        }
        X87Operands.finish(x, f);
        if (Flags.condition(c, i.sub)) {
            x.set(0, x.se(other), x.sig(other));
        }
    }
}
