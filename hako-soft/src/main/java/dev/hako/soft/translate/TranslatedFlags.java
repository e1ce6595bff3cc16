package dev.hako.soft.translate;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Flags;
import dev.hako.soft.exec.Shift;

/**
 * Flag materialization that translated code calls when a pending producer must reach the cpu's fields and
 * the producer is not a plain field write. Each does exactly what the interpreter's handler does to the flags.
 */
public final class TranslatedFlags {
    private TranslatedFlags() {}

    /** INC and DEC: lazy like the interpreter's, keeping the CF of the state before them. */
    public static void incDec(Cpu c, int producer, int size, long res, long src1) {
        long oldCf = Flags.cf(c) ? Flags.CF : 0;
        c.setFlags(producer, size, res, src1, 1);
        c.ccAux = oldCf;
    }

    /** A shift or rotate by CL: a masked count of zero leaves the flags alone. */
    public static void shiftByCount(Cpu c, int op, long a, int count, int size) {
        if (count != 0) {
            Shift.compute(c, op, a, count, size);
        }
    }

    /** BT and its kin: CF takes the tested bit; the other flags stay (hardware leaves OF SF AF PF undefined). */
    public static void carry(Cpu c, long bit) {
        c.setArithFlags((Flags.arith(c) & ~Flags.CF) | bit);
    }

    /** MUL and one-operand IMUL: CF = OF = the high half is significant; SF ZF PF of the low half. */
    public static void wideMultiply(Cpu c, long low, long overflow, int size) {
        c.setArithFlags((overflow != 0 ? Flags.CF | Flags.OF : 0) | Flags.resultFlags(low, size));
    }

    /** SHLD/SHRD by a masked count: OF = the sign changed; SF ZF PF of the result; AF clear; zero: unchanged. */
    public static void doubleShift(Cpu c, long res, long before, long carry, long count, int size) {
        if (count != 0) {
            long overflow = ((res ^ before) & Flags.signBit(size)) != 0 ? Flags.OF : 0;
            c.setArithFlags(carry | overflow | Flags.resultFlags(res, size));
        }
    }

    /** Two- and three-operand IMUL: CF = OF = the product does not fit; SF, ZF, PF of the truncated result. */
    public static void imul(Cpu c, long a, long b, int size) {
        boolean overflow;
        long low;
        if (size == 8) {
            low = a * b;
            overflow = Math.multiplyHigh(a, b) != (low >> 63);
        } else {
            int shift = 64 - size * 8;
            low = (a << shift >> shift) * (b << shift >> shift);
            overflow = (low << shift >> shift) != low;
        }
        long f = overflow ? Flags.CF | Flags.OF : 0;
        long r = low & Flags.mask(size);
        f |= Flags.parity(r);
        if (r == 0) {
            f |= Flags.ZF;
        }
        if ((r & Flags.signBit(size)) != 0) {
            f |= Flags.SF;
        }
        c.setArithFlags(f);
    }
}
