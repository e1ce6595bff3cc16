package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpcodeTable.ONE_BYTE;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;
import dev.hako.soft.fpu.Comparison;
import dev.hako.soft.fpu.Extended80;
import dev.hako.soft.fpu.Scaling;
import dev.hako.soft.fpu.Transcendental;

/**
 * x87 operations on ST(0) and ST(1) (SDM vol. 1 8.3.5-8.3.10): FCHS FABS FTST FXAM FSQRT FRNDINT FSCALE
 * FXTRACT FPREM FPREM1, and the transcendentals F2XM1 FYL2X FYL2XP1 FPTAN FPATAN FSIN FCOS FSINCOS.
 * All are D9 register forms selected by the full ModRM byte.
 */
final class X87Unary {
    private static final int CHS = 0, ABS = 1, SQRT = 2, RNDINT = 3, F2XM1 = 4, SIN = 5, COS = 6;
    private static final int SCALE = 0, PREM = 1, PREM1 = 2, YL2X = 3, YL2XP1 = 4, PATAN = 5;

    private X87Unary() {}

    static void register(OpcodeTable t) {
        t.addRm(ONE_BYTE, 0xD9, 4, 0, "fchs", 0, (c, i) -> unary(c, i, CHS));
        t.addRm(ONE_BYTE, 0xD9, 4, 1, "fabs", 0, (c, i) -> unary(c, i, ABS));
        t.addRm(ONE_BYTE, 0xD9, 4, 4, "ftst", 0, X87Unary::test);
        t.addRm(ONE_BYTE, 0xD9, 4, 5, "fxam", 0, X87Unary::examine);
        t.addRm(ONE_BYTE, 0xD9, 6, 0, "f2xm1", 0, (c, i) -> unary(c, i, F2XM1));
        t.addRm(ONE_BYTE, 0xD9, 6, 1, "fyl2x", 0, (c, i) -> binary(c, i, YL2X));
        t.addRm(ONE_BYTE, 0xD9, 6, 2, "fptan", 0, X87Unary::partialTangent);
        t.addRm(ONE_BYTE, 0xD9, 6, 3, "fpatan", 0, (c, i) -> binary(c, i, PATAN));
        t.addRm(ONE_BYTE, 0xD9, 6, 4, "fxtract", 0, X87Unary::extract);
        t.addRm(ONE_BYTE, 0xD9, 6, 5, "fprem1", 0, (c, i) -> binary(c, i, PREM1));
        t.addRm(ONE_BYTE, 0xD9, 7, 0, "fprem", 0, (c, i) -> binary(c, i, PREM));
        t.addRm(ONE_BYTE, 0xD9, 7, 1, "fyl2xp1", 0, (c, i) -> binary(c, i, YL2XP1));
        t.addRm(ONE_BYTE, 0xD9, 7, 2, "fsqrt", 0, (c, i) -> unary(c, i, SQRT));
        t.addRm(ONE_BYTE, 0xD9, 7, 3, "fsincos", 0, X87Unary::sineCosine);
        t.addRm(ONE_BYTE, 0xD9, 7, 4, "frndint", 0, (c, i) -> unary(c, i, RNDINT));
        t.addRm(ONE_BYTE, 0xD9, 7, 5, "fscale", 0, (c, i) -> binary(c, i, SCALE));
        t.addRm(ONE_BYTE, 0xD9, 7, 6, "fsin", 0, (c, i) -> unary(c, i, SIN));
        t.addRm(ONE_BYTE, 0xD9, 7, 7, "fcos", 0, (c, i) -> unary(c, i, COS));
    }

    /** ST(0) = op(ST(0)). FSIN and FCOS leave an out-of-range operand alone and set C2. */
    static void unary(Cpu c, Insn i, int op) {
        X87 x = c.fpu;
        Extended80 f = X87Operands.begin(c, i);
        x.fsw &= ~X87.C2;
        if ((op == SIN || op == COS) && leftOutOfRange(x, f)) {
            return;
        }
        if (x.isEmpty(0)) {
            X87Operands.underflow(f);
        } else {
            int se = x.se(0);
            long sig = x.sig(0);
            switch (op) {
                case CHS -> f.se = se ^ 0x8000;
                case ABS -> f.se = se & 0x7FFF;
                case SQRT -> f.sqrt(se, sig);
                case RNDINT -> Scaling.roundToIntegral(f, se, sig);
                case F2XM1 -> Transcendental.twoToXMinusOne(f, se, sig);
                case SIN -> Transcendental.sine(f, se, sig);
                default -> Transcendental.cosine(f, se, sig);
            }
            if (op == CHS || op == ABS) {
                f.sig = sig;
            }
        }
        if (X87Operands.finish(x, f)) {
            x.set(0, f.se, f.sig);
        }
    }

    /**
     * FSIN, FCOS, FPTAN and FSINCOS do nothing to an operand of |x| >= 2^63 but set C2 (cleared by the
     * caller beforehand). Returns whether that happened; the instruction is then complete.
     */
    private static boolean leftOutOfRange(X87 x, Extended80 f) {
        if (!x.isEmpty(0) && Transcendental.outOfRange(x.se(0), x.sig(0))) {
            x.fsw |= X87.C2;
            X87Operands.finish(x, f);
            return true;
        }
        return false;
    }

    /** Operations on ST(0) and ST(1): FSCALE and FPREM(1) write ST(0); FYL2X(P1) and FPATAN write ST(1) and pop. */
    static void binary(Cpu c, Insn i, int op) {
        X87 x = c.fpu;
        Extended80 f = X87Operands.begin(c, i);
        int conditions = 0;
        boolean pops = op == YL2X || op == YL2XP1 || op == PATAN;
        if (x.isEmpty(0) || x.isEmpty(1)) {
            X87Operands.underflow(f);
        } else {
            int se0 = x.se(0), se1 = x.se(1);
            long sig0 = x.sig(0), sig1 = x.sig(1);
            switch (op) {
                case SCALE -> Scaling.scale(f, se0, sig0, se1, sig1);
                case PREM -> conditions = Scaling.remainder(f, se0, sig0, se1, sig1, false);
                case PREM1 -> conditions = Scaling.remainder(f, se0, sig0, se1, sig1, true);
                case YL2X -> Transcendental.yLog2X(f, se1, sig1, se0, sig0);
                case YL2XP1 -> Transcendental.yLog2XPlusOne(f, se1, sig1, se0, sig0);
                default -> Transcendental.arcTangent(f, se1, sig1, se0, sig0);
            }
        }
        boolean write = X87Operands.finish(x, f);
        if (op == PREM || op == PREM1) {
            x.fsw = (x.fsw & ~(X87.C0 | X87.C1 | X87.C2 | X87.C3)) | conditions;
        }
        if (write) {
            x.set(pops ? 1 : 0, f.se, f.sig);
            if (pops) {
                x.pop();
            }
        }
    }

    static void test(Cpu c, Insn i) {
        X87 x = c.fpu;
        Extended80 f = X87Operands.begin(c, i);
        int result;
        if (x.isEmpty(0)) {
            X87Operands.underflow(f);
            result = Comparison.UNORDERED;
        } else {
            result = Comparison.compare(f, x.se(0), x.sig(0), 0, 0, false);
        }
        X87Operands.finish(x, f);
        x.fsw = (x.fsw & ~(X87.C0 | X87.C2 | X87.C3)) | Comparison.conditionBits(result);
    }

    static void examine(Cpu c, Insn i) {
        X87 x = c.fpu;
        X87Operands.begin(c, i);
        int bits = Comparison.examine(x.se(0), x.sig(0), x.isEmpty(0));
        x.fsw = (x.fsw & ~(X87.C0 | X87.C1 | X87.C2 | X87.C3)) | bits;
    }

    /** FXTRACT: ST(0) becomes the exponent, then the significand is pushed. */
    static void extract(Cpu c, Insn i) {
        X87 x = c.fpu;
        Extended80 f = X87Operands.begin(c, i);
        if (operandAndRoomToPush(x, f)) {
            Scaling.extract(f, x.se(0), x.sig(0));
        }
        pushSecond(x, f);
    }

    /**
     * The stack checks of the instructions that replace ST(0) and push a second result (FXTRACT, FPTAN,
     * FSINCOS): an empty ST(0) underflows, a valid ST(7) overflows, each leaving its masked response for
     * {@link #pushSecond}. Returns whether the operation may run.
     */
    private static boolean operandAndRoomToPush(X87 x, Extended80 f) {
        if (x.isEmpty(0)) {
            X87Operands.underflow(f);
            f.se2 = f.se;
            f.sig2 = f.sig;
            return false;
        }
        if (!x.isEmpty(7)) {
            f.flags |= X87.IE | X87.SF | X87.C1;
            f.se = f.se2 = Extended80.INDEFINITE_SE;
            f.sig = f.sig2 = Extended80.INDEFINITE_SIG;
            return false;
        }
        return true;
    }

    /** Writes f.se2/f.sig2 to ST(0) and pushes f.se/f.sig (FXTRACT, FPTAN, FSINCOS). */
    private static void pushSecond(X87 x, Extended80 f) {
        int flags = f.flags;
        if (!X87Operands.finish(x, f)) {
            return;
        }
        x.set(0, f.se2, f.sig2);
        if ((flags & X87.SF) != 0 && (flags & X87.C1) != 0) {
            x.push(Extended80.INDEFINITE_SE, Extended80.INDEFINITE_SIG);
            return;
        }
        x.push(f.se, f.sig);
    }

    /** FPTAN: ST(0) = tan(ST(0)), then push 1.0. */
    static void partialTangent(Cpu c, Insn i) {
        X87 x = c.fpu;
        Extended80 f = X87Operands.begin(c, i);
        x.fsw &= ~X87.C2;
        if (leftOutOfRange(x, f)) {
            return;
        }
        if (operandAndRoomToPush(x, f)) {
            Transcendental.tangent(f, x.se(0), x.sig(0));
            f.se2 = f.se;
            f.sig2 = f.sig;
            if (Extended80.isNaN(Extended80.classify(f.se, f.sig))) {
                // A NaN operand gives the NaN in both places.
                X87Operands.finish(x, f);
                x.set(0, f.se, f.sig);
                x.push(f.se, f.sig);
                return;
            }
            f.se = Extended80.BIAS;
            f.sig = Extended80.INTEGER_BIT;
        }
        pushSecond(x, f);
    }

    /** FSINCOS: ST(0) = sin, then push cos. */
    static void sineCosine(Cpu c, Insn i) {
        X87 x = c.fpu;
        Extended80 f = X87Operands.begin(c, i);
        x.fsw &= ~X87.C2;
        if (leftOutOfRange(x, f)) {
            return;
        }
        if (operandAndRoomToPush(x, f)) {
            int se = x.se(0);
            long sig = x.sig(0);
            Transcendental.sine(f, se, sig);
            f.se2 = f.se;
            f.sig2 = f.sig;
            Transcendental.cosine(f, se, sig);
        }
        pushSecond(x, f);
    }
}
