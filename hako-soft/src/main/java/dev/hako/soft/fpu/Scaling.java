package dev.hako.soft.fpu;

import static dev.hako.soft.fpu.Extended80.*;

/** FRNDINT, FSCALE, FXTRACT and the partial remainders FPREM and FPREM1 (all exact except FRNDINT and FSCALE). */
public final class Scaling {
    private Scaling() {}

    /** FRNDINT: rounds to an integral value with the rounding control. */
    public static void roundToIntegral(Extended80 f, int se, long sig) {
        int cls = classify(se, sig);
        if (f.propagateNaN(se, sig, cls)) {
            return;
        }
        if (cls == ZERO || cls == INF) {
            f.set(se, sig);
            return;
        }
        if (cls == DENORMAL) {
            f.flags |= DE;
        }
        int e = normExp(se, sig);
        if (e - BIAS >= 63) {
            f.set(se, sig);
            return;
        }
        boolean neg = (se & 0x8000) != 0;
        // Keep the bits worth 2^0 and above: unbiased exponent + 1 of them (0 or fewer means none).
        int k = e - BIAS + 1;
        if (k >= 1) {
            f.round(neg, e, normSig(sig), 0, k, Integer.MIN_VALUE / 2, EXT_EMAX);
            f.set((neg ? 0x8000 : 0) | f.rExp, f.rSig);
            return;
        }
        // |value| < 1: the result is 0 or 1 in magnitude.
        boolean roundBit = k == 0;
        boolean sticky = k < 0 || (normSig(sig) << 1) != 0;
        boolean inc = switch (f.rounding) {
            case RC_NEAREST -> roundBit && sticky;
            case RC_DOWN -> neg;
            case RC_UP -> !neg;
            default -> false;
        };
        f.flags |= PE | (inc ? C1 : 0);
        f.set((neg ? 0x8000 : 0) | (inc ? BIAS : 0), inc ? INTEGER_BIT : 0);
    }

    /** FSCALE: a * 2^trunc(b). */
    public static void scale(Extended80 f, int seA, long sigA, int seB, long sigB) {
        int ca = classify(seA, sigA), cb = classify(seB, sigB);
        if (f.propagateNaN(seA, sigA, ca, seB, sigB, cb)) {
            return;
        }
        boolean negB = (seB & 0x8000) != 0;
        if (cb == INF) {
            if ((ca == ZERO && !negB) || (ca == INF && negB)) {
                f.invalid();
                return;
            }
            if (ca == DENORMAL) {
                f.flags |= DE;
            }
            if (ca == ZERO || ca == INF) {
                f.set(seA, sigA);
            } else {
                f.set((seA & 0x8000) | (negB ? 0 : MAX_EXP), negB ? 0 : INTEGER_BIT);
            }
            return;
        }
        if (ca == DENORMAL || cb == DENORMAL) {
            f.flags |= DE;
        }
        if (ca == ZERO || ca == INF) {
            f.set(seA, sigA);
            return;
        }
        int n;
        int eb = cb == ZERO ? 0 : normExp(seB, sigB) - BIAS;
        if (cb == ZERO || eb < 0) {
            n = 0;
        } else if (eb >= 20) {
            n = negB ? -(1 << 20) : 1 << 20; // beyond any reachable exponent: saturate
        } else {
            int magnitude = (int) (normSig(sigB) >>> (63 - eb));
            n = negB ? -magnitude : magnitude;
        }
        f.roundPack((seA & 0x8000) != 0, normExp(seA, sigA) + n, normSig(sigA), 0, 64);
    }

    /**
     * FXTRACT: the significand (with exponent 0) goes to f.se/f.sig, the unbiased exponent as a value to
     * f.se2/f.sig2.
     */
    public static void extract(Extended80 f, int se, long sig) {
        int cls = classify(se, sig);
        if (f.propagateNaN(se, sig, cls)) {
            f.se2 = f.se;
            f.sig2 = f.sig;
            return;
        }
        if (cls == ZERO) {
            f.flags |= ZE;
            f.se2 = 0x8000 | MAX_EXP;
            f.sig2 = INTEGER_BIT;
            f.set(se, 0);
            return;
        }
        if (cls == INF) {
            f.se2 = MAX_EXP;
            f.sig2 = INTEGER_BIT;
            f.set(se, sig);
            return;
        }
        if (cls == DENORMAL) {
            f.flags |= DE;
        }
        int e = normExp(se, sig) - BIAS;
        Conversion.fromInteger(f, e);
        f.se2 = f.se;
        f.sig2 = f.sig;
        f.set((se & 0x8000) | BIAS, normSig(sig));
    }

    /**
     * FPREM (truncating quotient) or FPREM1 (IEEE, nearest-even quotient): remainder in f.se/f.sig; returns the
     * condition bits (C0 C3 C1 = quotient bits 2 1 0, or C2 when only a partial reduction was done).
     */
    public static int remainder(Extended80 f, int seA, long sigA, int seB, long sigB, boolean ieee) {
        int ca = classify(seA, sigA), cb = classify(seB, sigB);
        if (f.propagateNaN(seA, sigA, ca, seB, sigB, cb)) {
            return 0;
        }
        if (ca == INF || cb == ZERO) {
            f.invalid();
            return 0;
        }
        if (ca == DENORMAL || cb == DENORMAL) {
            f.flags |= DE;
        }
        if (ca == ZERO || cb == INF) {
            f.set(seA, sigA);
            return 0;
        }
        boolean neg = (seA & 0x8000) != 0;
        int ea = normExp(seA, sigA), eb = normExp(seB, sigB);
        long a = normSig(sigA), b = normSig(sigB);
        int diff = ea - eb;
        if (diff < (ieee ? -1 : 0)) {
            f.roundPack(neg, ea, a, 0, 64); // |a| < |b|/2 (or < |b|): a itself, exact
            return 0;
        }
        boolean partial = diff >= 64;
        // A partial step reduces the exponent difference by an amount that leaves it in 32..63.
        int steps = partial ? 32 + ((diff - 32) & 31) : diff;
        int remExp = partial ? ea - steps : eb;
        long q = 0;
        long r = a;
        boolean overflowBit = false;
        if (diff >= 0) {
            for (int i = 0; i <= steps; i++) {
                if (i > 0) {
                    overflowBit = r < 0;
                    r <<= 1;
                }
                q <<= 1;
                if (overflowBit || Long.compareUnsigned(r, b) >= 0) {
                    r -= b;
                    q |= 1;
                }
            }
        } else {
            // diff == -1 (FPREM1 only): |a|/|b| is in (1/4, 1); the quotient rounds to 1 when |a| > |b|/2.
            if (Long.compareUnsigned(a, b) > 0) {
                // |b| - |a| in a's units is 2b - a, which fits since a > b.
                long r1 = b + (b - a);
                int shift1 = Long.numberOfLeadingZeros(r1);
                f.roundPack(!neg, ea - shift1, r1 << shift1, 0, 64);
                return Extended80.C1;
            }
            f.roundPack(neg, ea, a, 0, 64);
            return 0;
        }
        if (!partial && ieee) {
            // Round the quotient to nearest even: compare 2r with b.
            long bMinusR = b - r;
            int c = Long.compareUnsigned(r, bMinusR);
            if (c > 0 || (c == 0 && (q & 1) != 0)) {
                r = bMinusR;
                q++;
                neg = !neg;
            }
        }
        int bits = partial ? Comparison.C2 : quotientBits(q);
        if (r == 0) {
            f.set(neg ? 0x8000 : 0, 0);
            return bits;
        }
        int shift = Long.numberOfLeadingZeros(r);
        f.roundPack(neg, remExp - shift, r << shift, 0, 64);
        return bits;
    }

    private static int quotientBits(long q) {
        return ((q & 4) != 0 ? Comparison.C0 : 0) | ((q & 2) != 0 ? Comparison.C3 : 0) | ((q & 1) != 0 ? Extended80.C1 : 0);
    }
}
