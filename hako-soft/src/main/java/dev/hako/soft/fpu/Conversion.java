package dev.hako.soft.fpu;

import static dev.hako.soft.fpu.Extended80.*;

/**
 * Conversions between the extended format and single, double and integer memory operands (FLD, FST, FILD,
 * FIST, FISTTP). Loads of single and double values are exact; an SNaN raises IE and loads quieted, a denormal
 * raises DE. Stores round with the rounding control to the destination's precision and exponent range.
 */
public final class Conversion {
    private Conversion() {}

    /** Loads an IEEE single or double (fracBits 23 or 52) into f.se/f.sig. */
    private static void fromBinary(Extended80 f, long bits, int fracBits, int expBits) {
        fromBinary(f, bits, fracBits, expBits, false);
    }

    /**
     * With {@code asOperand} (an arithmetic source), an SNaN stays signaling and no flag is raised here: the
     * operation decides, with its own priorities.
     */
    private static void fromBinary(Extended80 f, long bits, int fracBits, int expBits, boolean asOperand) {
        int expMax = (1 << expBits) - 1;
        int bias = expMax >> 1;
        int sign = (int) (bits >>> (fracBits + expBits)) & 1;
        int exp = (int) (bits >>> fracBits) & expMax;
        long frac = bits & ((1L << fracBits) - 1);
        int signBit = sign << 15;
        if (exp == expMax) {
            if (frac == 0) {
                f.set(signBit | MAX_EXP, INTEGER_BIT);
                return;
            }
            long s = INTEGER_BIT | (frac << (63 - fracBits));
            if ((s & QUIET_BIT) == 0 && !asOperand) {
                f.flags |= IE;
                s |= QUIET_BIT;
            }
            f.set(signBit | MAX_EXP, s);
            return;
        }
        if (exp == 0) {
            if (frac == 0) {
                f.set(signBit, 0);
                return;
            }
            f.flags |= asOperand ? 0 : DE;
            f.denormalSource = true;
            int shift = Long.numberOfLeadingZeros(frac);
            // frac's unit is 2^(1-bias-fracBits); normalize so the top bit is the integer bit.
            int e = (1 - bias) + BIAS - (shift - (63 - fracBits));
            f.set(signBit | e, frac << shift);
            return;
        }
        f.set(signBit | (exp - bias + BIAS), INTEGER_BIT | (frac << (63 - fracBits)));
    }

    public static void fromFloat(Extended80 f, int bits) {
        fromBinary(f, bits & 0xFFFFFFFFL, 23, 8);
    }

    public static void fromDouble(Extended80 f, long bits) {
        fromBinary(f, bits, 52, 11);
    }

    /** Loads an arithmetic source operand: see {@link #fromBinary(Extended80, long, int, int, boolean)}. */
    public static void operandFromFloat(Extended80 f, int bits) {
        fromBinary(f, bits & 0xFFFFFFFFL, 23, 8, true);
    }

    public static void operandFromDouble(Extended80 f, long bits) {
        fromBinary(f, bits, 52, 11, true);
    }

    /** Rounds an extended value to single (fracBits 23) or double (52) bits, with the FST flags. */
    private static long toBinary(Extended80 f, int se, long sig, int fracBits, int expBits, int emin, int emax) {
        int cls = classify(se, sig);
        long signBit = (long) ((se >>> 15) & 1) << (fracBits + expBits);
        long expAllOnes = ((1L << expBits) - 1) << fracBits;
        switch (cls) {
            case ZERO:
                return signBit;
            case INF:
                return signBit | expAllOnes;
            case UNSUPPORTED:
                f.flags |= IE;
                return (1L << (fracBits + expBits)) | expAllOnes | (1L << (fracBits - 1));
            case QNAN:
            case SNAN:
                if (cls == SNAN) {
                    f.flags |= IE;
                }
                return signBit | expAllOnes | (((sig | QUIET_BIT) << 1) >>> (64 - fracBits));
            default: // a denormal source raises no DE on stores (observed on hardware)
                break;
        }
        boolean neg = signBit != 0;
        int kind = f.round(neg, normExp(se, sig), normSig(sig), 0, fracBits + 1, emin, emax);
        return switch (kind) {
            case ROUNDED_ZERO -> signBit;
            case OVERFLOW_INF -> signBit | expAllOnes;
            case OVERFLOW_MAX -> signBit | (expAllOnes - (1L << fracBits)) | ((1L << fracBits) - 1);
            default -> {
                if (f.rExp >= emin) {
                    yield signBit | ((long) (f.rExp - emin + 1) << fracBits) | ((f.rSig << 1) >>> (64 - fracBits));
                }
                yield signBit | (f.rSig >>> (63 - fracBits + (emin - f.rExp)));
            }
        };
    }

    public static int toFloat(Extended80 f, int se, long sig) {
        return (int) toBinary(f, se, sig, 23, 8, FLT_EMIN, FLT_EMAX);
    }

    public static long toDouble(Extended80 f, int se, long sig) {
        return toBinary(f, se, sig, 52, 11, DBL_EMIN, DBL_EMAX);
    }

    /** Exact conversion of a signed integer (FILD). */
    public static void fromInteger(Extended80 f, long value) {
        if (value == 0) {
            f.set(0, 0);
            return;
        }
        int sign = value < 0 ? 0x8000 : 0;
        long mag = value < 0 ? -value : value; // Long.MIN_VALUE stays 2^63 as unsigned
        int shift = Long.numberOfLeadingZeros(mag);
        f.set(sign | (BIAS + 63 - shift), mag << shift);
    }

    /**
     * Converts to a signed integer of {@code bits} (16, 32, 64), rounding with the rounding control or
     * truncating (FISTTP). Out of range, NaN and infinity give IE and the integer indefinite.
     */
    public static long toInteger(Extended80 f, int se, long sig, int bits, boolean truncate) {
        int cls = classify(se, sig);
        long indefinite = 1L << (bits - 1);
        if (cls == ZERO) {
            return 0;
        }
        if (cls == INF || cls == QNAN || cls == SNAN || cls == UNSUPPORTED) {
            f.flags |= IE;
            return indefinite;
        }
        boolean neg = (se & 0x8000) != 0;
        int e = normExp(se, sig) - BIAS;
        long s = normSig(sig);
        if (e >= 64) {
            f.flags |= IE;
            return indefinite;
        }
        long mag;
        boolean roundBit, sticky;
        if (e >= 63) {
            mag = s;
            roundBit = false;
            sticky = false;
        } else if (e >= 0) {
            mag = s >>> (63 - e);
            long fraction = s << (e + 1);
            roundBit = fraction < 0;
            sticky = (fraction << 1) != 0;
        } else {
            mag = 0;
            roundBit = e == -1;
            sticky = e < -1 || (s << 1) != 0;
        }
        boolean inexact = roundBit || sticky;
        boolean inc = false;
        if (!truncate) {
            inc = switch (f.rounding) {
                case RC_NEAREST -> roundBit && (sticky || (mag & 1) != 0);
                case RC_DOWN -> neg && inexact;
                case RC_UP -> !neg && inexact;
                default -> false;
            };
        }
        long rounded = mag + (inc ? 1 : 0);
        boolean carried = inc && rounded == 0;
        long limit = neg ? indefinite : indefinite - 1; // largest magnitude that fits, unsigned
        if (carried || Long.compareUnsigned(rounded, limit) > 0 || (bits == 64 && !neg && rounded < 0)) {
            f.flags |= IE;
            return indefinite;
        }
        if (inexact) {
            f.flags |= PE;
            if (inc) {
                f.flags |= C1;
            }
        }
        long value = neg ? -rounded : rounded;
        return bits == 64 ? value : value & ((1L << bits) - 1);
    }
}
