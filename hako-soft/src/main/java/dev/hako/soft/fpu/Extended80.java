package dev.hako.soft.fpu;

/**
 * Software 80-bit extended-precision arithmetic as the x87 FPU does it (SDM vol. 1 ch. 4.8-4.9 and 8.5).
 *
 * <p>A value is a 16-bit sign-and-exponent {@code se} and a 64-bit significand {@code sig} with an explicit
 * integer bit, exactly as it sits in a register. One instance belongs to one vCPU: it holds the rounding
 * controls taken from the FCW, the result of the last operation in {@link #se}/{@link #sig}, and accumulates
 * status bits in {@link #flags} (FSW layout: IE DE ZE OE UE PE, and C1 for "rounded up"). Nothing allocates.
 *
 * <p>Every result is rounded once from an exact (or exactly sticky) intermediate, to the precision control's
 * 24, 53 or 64 bits with the full extended exponent range, under the four rounding modes. Tininess is
 * detected after rounding, as the SDM words it (4.9.1.5). Masked responses only: the unmasked overflow and
 * underflow responses (exponent bias by 24576) are not produced. Unnormals, pseudo-NaNs and
 * pseudo-infinities are invalid operands; pseudo-denormals are accepted as denormals.
 */
public final class Extended80 {
    public static final int IE = 1, DE = 2, ZE = 4, OE = 8, UE = 0x10, PE = 0x20, SF = 0x40, C1 = 0x200;
    public static final int RC_NEAREST = 0, RC_DOWN = 1, RC_UP = 2, RC_ZERO = 3;
    public static final int INDEFINITE_SE = 0xFFFF;
    public static final long INDEFINITE_SIG = 0xC000000000000000L;
    public static final long INTEGER_BIT = 0x8000000000000000L;
    public static final long QUIET_BIT = 0x4000000000000000L;
    public static final int BIAS = 0x3FFF, MAX_EXP = 0x7FFF;

    /** Operand classes. */
    public static final int ZERO = 0, NORMAL = 1, DENORMAL = 2, INF = 3, QNAN = 4, SNAN = 5, UNSUPPORTED = 6;

    /** Kinds of a rounded result. */
    static final int FINITE = 0, ROUNDED_ZERO = 1, OVERFLOW_INF = 2, OVERFLOW_MAX = 3;

    // Extended-space exponent ranges of the three formats (biased by 0x3FFF).
    static final int EXT_EMIN = 1, EXT_EMAX = 0x7FFE;
    static final int DBL_EMIN = BIAS - 1022, DBL_EMAX = BIAS + 1023;
    static final int FLT_EMIN = BIAS - 126, FLT_EMAX = BIAS + 127;

    public int precisionBits = 64;
    public int rounding = RC_NEAREST;
    public int flags;
    /** Set by a load whose single or double source was denormal (normal once extended). */
    public boolean denormalSource;
    public int se;
    public long sig;
    /** Second result of FXTRACT, FPTAN and FSINCOS (the value pushed last). */
    public int se2;
    public long sig2;

    /** Rounded result of {@link #round}: extended-space exponent and normalized significand. */
    int rExp;
    long rSig;

    final Wide wide = new Wide();

    // Scratch for unpacked operands.
    int aExp, bExp;
    long aSig, bSig;

    /** Takes precision and rounding control from an FCW value. */
    public void setControl(int fcw) {
        rounding = (fcw >>> 10) & 3;
        precisionBits = switch ((fcw >>> 8) & 3) {
            case 0 -> 24;
            case 2 -> 53;
            default -> 64;
        };
    }

    // ---- classification ----

    public static int classify(int se, long sig) {
        int exp = se & MAX_EXP;
        if (exp == 0) {
            return sig == 0 ? ZERO : DENORMAL;
        }
        if (exp == MAX_EXP) {
            if (sig >= 0) {
                return UNSUPPORTED; // pseudo-infinity, pseudo-NaN
            }
            if ((sig << 1) == 0) {
                return INF;
            }
            return (sig & QUIET_BIT) != 0 ? QNAN : SNAN;
        }
        return sig < 0 ? NORMAL : UNSUPPORTED; // unnormal
    }

    public static boolean isNaN(int cls) {
        return cls == QNAN || cls == SNAN;
    }

    /** Normalized exponent of a finite nonzero value (may be below 1 for denormals). */
    static int normExp(int se, long sig) {
        int exp = se & MAX_EXP;
        return exp == 0 ? 1 - Long.numberOfLeadingZeros(sig) : exp;
    }

    static long normSig(long sig) {
        return sig << Long.numberOfLeadingZeros(sig);
    }

    private void unpackA(int seA, long sigA) {
        aExp = normExp(seA, sigA);
        aSig = normSig(sigA);
    }

    private void unpackB(int seB, long sigB) {
        bExp = normExp(seB, sigB);
        bSig = normSig(sigB);
    }

    // ---- results ----

    void set(int resultSe, long resultSig) {
        se = resultSe;
        sig = resultSig;
    }

    /** Invalid operation with a masked response: the real indefinite. */
    public void invalid() {
        flags |= IE;
        set(INDEFINITE_SE, INDEFINITE_SIG);
    }

    /**
     * NaN and unsupported-operand handling for two operands (SDM table 4-7, x87 column). Returns true when
     * the result is decided.
     */
    boolean propagateNaN(int seA, long sigA, int ca, int seB, long sigB, int cb) {
        if (ca == UNSUPPORTED || cb == UNSUPPORTED) {
            invalid();
            return true;
        }
        boolean nanA = isNaN(ca), nanB = isNaN(cb);
        if (!nanA && !nanB) {
            return false;
        }
        if (ca == SNAN || cb == SNAN) {
            flags |= IE;
        }
        if (nanA && nanB) {
            long qa = sigA | QUIET_BIT, qb = sigB | QUIET_BIT;
            int c = Long.compareUnsigned(qa, qb);
            boolean pickA = c > 0 || (c == 0 && (seA & 0x8000) <= (seB & 0x8000));
            if (ca == QNAN && cb == SNAN) {
                pickA = true;
            } else if (ca == SNAN && cb == QNAN) {
                pickA = false;
            }
            set(pickA ? seA : seB, pickA ? qa : qb);
        } else if (nanA) {
            set(seA, sigA | QUIET_BIT);
        } else {
            set(seB, sigB | QUIET_BIT);
        }
        return true;
    }

    /** One-operand NaN handling; true when decided. */
    boolean propagateNaN(int seA, long sigA, int ca) {
        if (ca == UNSUPPORTED) {
            invalid();
            return true;
        }
        if (!isNaN(ca)) {
            return false;
        }
        if (ca == SNAN) {
            flags |= IE;
        }
        set(seA, sigA | QUIET_BIT);
        return true;
    }

    // ---- rounding ----

    private boolean increments(boolean neg, long m, boolean roundBit, boolean sticky) {
        return switch (rounding) {
            case RC_NEAREST -> roundBit && (sticky || (m & 1) != 0);
            case RC_DOWN -> neg && (roundBit || sticky);
            case RC_UP -> !neg && (roundBit || sticky);
            default -> false;
        };
    }

    /** Whether rounding (hi:lo) to p bits carries out of the top bit (used to decide tininess). */
    private boolean carriesOut(boolean neg, long hi, long lo, int p) {
        int drop = 64 - p;
        long m = drop == 0 ? hi : hi >>> drop;
        if (m != (p == 64 ? -1L : (1L << p) - 1)) {
            return false;
        }
        boolean roundBit = drop == 0 ? lo < 0 : ((hi >>> (drop - 1)) & 1) != 0;
        boolean sticky = drop == 0 ? (lo << 1) != 0 : (hi & ((1L << (drop - 1)) - 1)) != 0 || lo != 0;
        return increments(neg, m, roundBit, sticky);
    }

    /**
     * Rounds {@code (hi:lo)}, normalized (hi's top bit is worth 2^(e-BIAS)), to {@code p} bits with the
     * exponent range [emin, emax]: denormalizes below emin, raises PE, UE (tiny and inexact), OE and C1.
     * Returns the kind; for FINITE the result is in rExp/rSig (rExp below emin means a denormal).
     */
    int round(boolean neg, int e, long hi, long lo, int p, int emin, int emax) {
        boolean tiny = false;
        int k = p;
        if (e < emin) {
            tiny = e < emin - 1 || !carriesOut(neg, hi, lo, p);
            k = p - (emin - e);
        }
        long m;
        boolean roundBit, sticky;
        if (k >= 1) {
            int drop = 64 - k;
            if (drop == 0) {
                m = hi;
                roundBit = lo < 0;
                sticky = (lo << 1) != 0;
            } else {
                m = hi >>> drop;
                roundBit = ((hi >>> (drop - 1)) & 1) != 0;
                sticky = (hi & ((1L << (drop - 1)) - 1)) != 0 || lo != 0;
            }
        } else if (k == 0) {
            m = 0;
            roundBit = true;
            sticky = (hi << 1) != 0 || lo != 0;
        } else {
            m = 0;
            roundBit = false;
            sticky = true;
        }
        boolean inexact = roundBit || sticky;
        boolean inc = increments(neg, m, roundBit, sticky);
        int unitExp = e - k + 1;
        if (inexact) {
            flags |= PE;
            if (tiny) {
                flags |= UE;
            }
            if (inc) {
                flags |= C1;
            }
        }
        if (inc) {
            m++;
        }
        if (m == 0) {
            if (!inc) {
                return ROUNDED_ZERO;
            }
            rSig = INTEGER_BIT; // carried out of 64 bits
            rExp = unitExp + 64;
        } else {
            int top = 63 - Long.numberOfLeadingZeros(m);
            rSig = m << (63 - top);
            rExp = unitExp + top;
        }
        if (rExp > emax) {
            flags |= OE | PE;
            boolean toInf = rounding == RC_NEAREST || (rounding == RC_UP && !neg) || (rounding == RC_DOWN && neg);
            if (toInf) {
                flags |= C1;
                return OVERFLOW_INF;
            }
            flags &= ~C1;
            return OVERFLOW_MAX;
        }
        return FINITE;
    }

    /** Rounds to the precision control and packs an extended result into se/sig. */
    void roundPack(boolean neg, int e, long hi, long lo) {
        roundPack(neg, e, hi, lo, precisionBits);
    }

    void roundPack(boolean neg, int e, long hi, long lo, int p) {
        int sign = neg ? 0x8000 : 0;
        switch (round(neg, e, hi, lo, p, EXT_EMIN, EXT_EMAX)) {
            case ROUNDED_ZERO -> set(sign, 0);
            case OVERFLOW_INF -> set(sign | MAX_EXP, INTEGER_BIT);
            case OVERFLOW_MAX -> set(sign | EXT_EMAX, -1L << (64 - p));
            default -> {
                if (rExp >= EXT_EMIN) {
                    set(sign | rExp, rSig);
                } else {
                    set(sign, rSig >>> (EXT_EMIN - rExp));
                }
            }
        }
    }

    // ---- arithmetic ----

    public void add(int seA, long sigA, int seB, long sigB) {
        addOrSub(seA, sigA, seB, sigB, 0);
    }

    public void sub(int seA, long sigA, int seB, long sigB) {
        addOrSub(seA, sigA, seB, sigB, 0x8000);
    }

    /** a + b with b's sign flipped by {@code negateB} (after NaN propagation, which keeps NaN signs). */
    private void addOrSub(int seA, long sigA, int seB, long sigB, int negateB) {
        int ca = classify(seA, sigA), cb = classify(seB, sigB);
        if (propagateNaN(seA, sigA, ca, seB, sigB, cb)) {
            return;
        }
        seB ^= negateB;
        boolean negA = (seA & 0x8000) != 0, negB = (seB & 0x8000) != 0;
        if (ca == INF && cb == INF && negA != negB) {
            invalid();
            return;
        }
        if (ca == DENORMAL || cb == DENORMAL) {
            flags |= DE;
        }
        if (ca == INF || cb == INF) {
            set(ca == INF ? seA : seB, INTEGER_BIT);
            return;
        }
        if (ca == ZERO && cb == ZERO) {
            boolean neg = negA == negB ? negA : rounding == RC_DOWN;
            set(neg ? 0x8000 : 0, 0);
            return;
        }
        if (ca == ZERO || cb == ZERO) {
            int seX = ca == ZERO ? seB : seA;
            long sigX = ca == ZERO ? sigB : sigA;
            roundPack((seX & 0x8000) != 0, normExp(seX, sigX), normSig(sigX), 0);
            return;
        }
        unpackA(seA, sigA);
        unpackB(seB, sigB);
        if (aExp < bExp || (aExp == bExp && Long.compareUnsigned(aSig, bSig) < 0)) {
            int te = aExp;
            aExp = bExp;
            bExp = te;
            long ts = aSig;
            aSig = bSig;
            bSig = ts;
            boolean tn = negA;
            negA = negB;
            negB = tn;
        }
        // |A| >= |B|; shift B right by the exponent difference into (bHi:bLo) with a sticky bit.
        int diff = aExp - bExp;
        long bHi, bLo;
        if (diff == 0) {
            bHi = bSig;
            bLo = 0;
        } else if (diff < 64) {
            bHi = bSig >>> diff;
            bLo = bSig << (64 - diff);
        } else if (diff < 128) {
            bHi = 0;
            bLo = diff == 64 ? bSig : (bSig >>> (diff - 64)) | ((bSig << (128 - diff)) != 0 ? 1 : 0);
        } else {
            bHi = 0;
            bLo = 1;
        }
        int e = aExp;
        long hi, lo;
        if (negA == negB) {
            lo = bLo;
            hi = aSig + bHi;
            if (Long.compareUnsigned(hi, aSig) < 0) { // carry out: shift right one, keep sticky
                lo = (lo >>> 1) | (hi << 63) | (lo & 1);
                hi = (hi >>> 1) | INTEGER_BIT;
                e++;
            }
        } else {
            lo = -bLo;
            hi = aSig - bHi - (bLo != 0 ? 1 : 0);
            if (hi == 0 && lo == 0) {
                set(rounding == RC_DOWN ? 0x8000 : 0, 0);
                return;
            }
            int shift = hi == 0 ? 64 + Long.numberOfLeadingZeros(lo) : Long.numberOfLeadingZeros(hi);
            if (shift >= 64) {
                hi = lo << (shift - 64);
                lo = 0;
            } else if (shift > 0) {
                hi = (hi << shift) | (lo >>> (64 - shift));
                lo <<= shift;
            }
            e -= shift;
        }
        roundPack(negA, e, hi, lo);
    }

    public void mul(int seA, long sigA, int seB, long sigB) {
        int ca = classify(seA, sigA), cb = classify(seB, sigB);
        if (propagateNaN(seA, sigA, ca, seB, sigB, cb)) {
            return;
        }
        int sign = (seA ^ seB) & 0x8000;
        if ((ca == INF && cb == ZERO) || (ca == ZERO && cb == INF)) {
            invalid();
            return;
        }
        if (ca == DENORMAL || cb == DENORMAL) {
            flags |= DE;
        }
        if (ca == INF || cb == INF) {
            set(sign | MAX_EXP, INTEGER_BIT);
            return;
        }
        if (ca == ZERO || cb == ZERO) {
            set(sign, 0);
            return;
        }
        unpackA(seA, sigA);
        unpackB(seB, sigB);
        long hi = Math.unsignedMultiplyHigh(aSig, bSig);
        long lo = aSig * bSig;
        int e = aExp + bExp - BIAS + 1;
        if (hi >= 0) {
            hi = (hi << 1) | (lo >>> 63);
            lo <<= 1;
            e--;
        }
        roundPack(sign != 0, e, hi, lo);
    }

    public void div(int seA, long sigA, int seB, long sigB) {
        int ca = classify(seA, sigA), cb = classify(seB, sigB);
        if (propagateNaN(seA, sigA, ca, seB, sigB, cb)) {
            return;
        }
        int sign = (seA ^ seB) & 0x8000;
        if ((ca == INF && cb == INF) || (ca == ZERO && cb == ZERO)) {
            invalid();
            return;
        }
        if (cb == ZERO && ca != INF) {
            flags |= ZE; // takes priority over the denormal-operand exception
            set(sign | MAX_EXP, INTEGER_BIT);
            return;
        }
        if (ca == DENORMAL || cb == DENORMAL) {
            flags |= DE;
        }
        if (ca == INF) {
            set(sign | MAX_EXP, INTEGER_BIT);
            return;
        }
        if (ca == ZERO || cb == INF) {
            set(sign, 0);
            return;
        }
        unpackA(seA, sigA);
        unpackB(seB, sigB);
        int e = aExp - bExp + BIAS;
        long numHi, numLo;
        if (Long.compareUnsigned(aSig, bSig) >= 0) {
            numHi = aSig >>> 1;
            numLo = aSig << 63;
        } else {
            numHi = aSig;
            numLo = 0;
            e--;
        }
        long hi = wide.divide(numHi, numLo, bSig);
        long lo = wide.divide(wide.remainder, 0, bSig);
        if (wide.remainder != 0) {
            lo |= 1;
        }
        roundPack(sign != 0, e, hi, lo);
    }

    public void sqrt(int seA, long sigA) {
        int ca = classify(seA, sigA);
        if (propagateNaN(seA, sigA, ca)) {
            return;
        }
        boolean neg = (seA & 0x8000) != 0;
        if (ca == ZERO) {
            set(seA, 0);
            return;
        }
        if (neg) {
            invalid();
            return;
        }
        if (ca == INF) {
            set(seA, sigA);
            return;
        }
        if (ca == DENORMAL) {
            flags |= DE;
        }
        unpackA(seA, sigA);
        int unbiased = aExp - BIAS;
        long nHi, nLo;
        int e;
        if ((unbiased & 1) != 0) {
            nHi = aSig;
            nLo = 0;
            e = ((unbiased - 1) >> 1) + BIAS;
        } else {
            nHi = aSig >>> 1;
            nLo = aSig << 63;
            e = (unbiased >> 1) + BIAS;
        }
        long root = wide.sqrt(nHi, nLo);
        long lo;
        if (wide.remainderHi == 0 && wide.remainder == 0) {
            lo = 0;
        } else if (wide.remainderHi > 0 || Long.compareUnsigned(wide.remainder, root) > 0) {
            lo = 0xC000000000000000L; // above the half-way point, never exactly on it
        } else {
            lo = 1;
        }
        roundPack(false, e, root, lo);
    }

    /** Rounds a register value to the precision control (FLD of a constant, FADD of zero and the like). */
    public void roundToPrecision(int seA, long sigA) {
        int ca = classify(seA, sigA);
        if (ca == ZERO || ca == INF || isNaN(ca) || ca == UNSUPPORTED) {
            set(seA, sigA);
            return;
        }
        roundPack((seA & 0x8000) != 0, normExp(seA, sigA), normSig(sigA), 0);
    }
}
