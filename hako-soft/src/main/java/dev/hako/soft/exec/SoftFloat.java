package dev.hako.soft.exec;

import dev.hako.soft.fpu.Comparison;

/**
 * IEEE 754 binary32 and binary64 arithmetic exactly as SSE does it (SDM vol. 1 4.8, 4.9, 11.5): all four
 * rounding modes, DAZ and FTZ, tininess detected after rounding, the SSE NaN rules (the first source's NaN
 * wins, SNaNs are quieted, invalid operations give the negative default NaN) and the six exception flags,
 * including which ones an earlier exception suppresses (a QNaN operand or a divide by zero hides DE).
 *
 * <p>Java's float and double arithmetic rounds to nearest only, so every result is computed here from the
 * operands' significands: additions and multiplications in integers, division and square root from the
 * host's correctly rounded result plus the exact remainder (an FMA), which says on which side the exact
 * value lies. One rounding routine then gives every mode its exact result and flags.
 *
 * <p>One instance per vCPU: {@link #begin} loads MXCSR's controls, {@link #flags} collects the exceptions an
 * instruction detected. Values are raw bit patterns; {@code fmt} is {@link #SINGLE} or {@link #DOUBLE}.
 * Nothing allocates.
 */
public final class SoftFloat {
    /** Formats, named by their fraction width. */
    public static final int SINGLE = 23, DOUBLE = 52;
    public static final int F32_DEFAULT_NAN = 0xFFC00000;
    public static final long F64_DEFAULT_NAN = 0xFFF8000000000000L;
    public static final long INT32_INDEFINITE = 0x80000000L, INT64_INDEFINITE = 0x8000000000000000L;

    // Operand classes.
    static final int ZERO = 0, FINITE = 1, INF = 2, QNAN = 3, SNAN = 4;
    /** Significands are kept with their leading one at this bit; lower bits carry sticky information. */
    private static final int TOP = 62;

    /** Exceptions detected since {@link #begin}. */
    public int flags;
    private int rounding;
    private boolean daz, ftz, underflowUnmasked;

    // Unpacked operands (slot 0 and 1): value = sig * 2^(exp - TOP).
    private final int[] cls = new int[2];
    private final boolean[] sign = new boolean[2];
    private final int[] exp = new int[2];
    private final long[] sig = new long[2];
    private final boolean[] denormal = new boolean[2];
    /** Side result of {@link #roundShift}: whether bits were dropped. */
    private boolean dropped;

    /** Starts an instruction under the controls of {@code mxcsr}. */
    public void begin(int mxcsr) {
        flags = 0;
        rounding = Mxcsr.rounding(mxcsr);
        daz = (mxcsr & Mxcsr.DAZ) != 0;
        ftz = (mxcsr & Mxcsr.FTZ) != 0;
        underflowUnmasked = (mxcsr & (Mxcsr.UE << Mxcsr.MASK_SHIFT)) == 0;
    }

    // ---- format parameters ----

    private static int expMask(int fmt) {
        return fmt == SINGLE ? 0xFF : 0x7FF;
    }

    private static int bias(int fmt) {
        return fmt == SINGLE ? 127 : 1023;
    }

    private static long signBit(int fmt) {
        return fmt == SINGLE ? 1L << 31 : 1L << 63;
    }

    private static long quietBit(int fmt) {
        return 1L << (fmt - 1);
    }

    static long defaultNaN(int fmt) {
        return fmt == SINGLE ? F32_DEFAULT_NAN & 0xFFFFFFFFL : F64_DEFAULT_NAN;
    }

    private static long infinity(int fmt, boolean negative) {
        return ((long) expMask(fmt) << fmt) | (negative ? signBit(fmt) : 0);
    }

    private static long zero(int fmt, boolean negative) {
        return negative ? signBit(fmt) : 0;
    }

    private static long largest(int fmt, boolean negative) {
        return (((long) expMask(fmt) - 1) << fmt) | ((1L << fmt) - 1) | (negative ? signBit(fmt) : 0);
    }

    /** The class of a raw value, ignoring DAZ. */
    static int classify(int fmt, long bits) {
        long e = (bits >>> fmt) & expMask(fmt);
        long f = bits & ((1L << fmt) - 1);
        if (e == expMask(fmt)) {
            return f == 0 ? INF : (f & quietBit(fmt)) != 0 ? QNAN : SNAN;
        }
        return e == 0 && f == 0 ? ZERO : FINITE;
    }

    static boolean isNaN(int fmt, long bits) {
        return classify(fmt, bits) >= QNAN;
    }

    static boolean isDenormal(int fmt, long bits) {
        return ((bits >>> fmt) & expMask(fmt)) == 0 && (bits & ((1L << fmt) - 1)) != 0;
    }

    // ---- unpacking ----

    private void unpack(int slot, int fmt, long bits) {
        int expMask = expMask(fmt);
        int e = (int) (bits >>> fmt) & expMask;
        long f = bits & ((1L << fmt) - 1);
        sign[slot] = (bits & signBit(fmt)) != 0;
        denormal[slot] = false;
        if (e == expMask) {
            cls[slot] = f == 0 ? INF : (f & quietBit(fmt)) != 0 ? QNAN : SNAN;
        } else if (e != 0) {
            cls[slot] = FINITE;
            exp[slot] = e - bias(fmt);
            sig[slot] = (f | (1L << fmt)) << (TOP - fmt);
        } else if (f == 0 || daz) {
            cls[slot] = ZERO;
        } else {
            cls[slot] = FINITE;
            denormal[slot] = true;
            int lead = 63 - Long.numberOfLeadingZeros(f);
            exp[slot] = 1 - bias(fmt) - (fmt - lead);
            sig[slot] = f << (TOP - lead);
        }
    }

    /** The quiet form of a NaN. */
    static long quiet(int fmt, long bits) {
        return bits | quietBit(fmt);
    }

    /** SSE NaN rule for two operands: IE for an SNaN, the first operand's NaN if it is one, else the second's. */
    private long propagateNaN(int fmt, long a, long b) {
        if (cls[0] == SNAN || cls[1] == SNAN) {
            flags |= Mxcsr.IE;
        }
        return cls[0] >= QNAN ? quiet(fmt, a) : quiet(fmt, b);
    }

    private long invalid(int fmt) {
        flags |= Mxcsr.IE;
        return defaultNaN(fmt);
    }

    private void denormalOperands() {
        if (denormal[0] || denormal[1]) {
            flags |= Mxcsr.DE;
        }
    }

    /** A finite operand as a value, through the rounding routine (FTZ applies to it, as to any result). */
    private long finiteResult(int fmt, int slot) {
        return roundPack(fmt, sign[slot], exp[slot], sig[slot]);
    }

    // ---- the operations ----

    /** Unpacks both operands of a binary operation; returns whether either is a NaN. */
    private boolean unpackEitherNaN(int fmt, long a, long b) {
        unpack(0, fmt, a);
        unpack(1, fmt, b);
        return cls[0] >= QNAN || cls[1] >= QNAN;
    }

    public long add(int fmt, long a, long b) {
        return addOrSubtract(fmt, a, b, false);
    }

    public long sub(int fmt, long a, long b) {
        return addOrSubtract(fmt, a, b, true);
    }

    private long addOrSubtract(int fmt, long a, long b, boolean subtract) {
        if (unpackEitherNaN(fmt, a, b)) {
            return propagateNaN(fmt, a, b);
        }
        boolean signB = sign[1] ^ subtract;
        if (cls[0] == INF || cls[1] == INF) {
            if (cls[0] == INF && cls[1] == INF && sign[0] != signB) {
                return invalid(fmt);
            }
            denormalOperands();
            return cls[0] == INF ? infinity(fmt, sign[0]) : infinity(fmt, signB);
        }
        denormalOperands();
        if (cls[0] == ZERO && cls[1] == ZERO) {
            boolean negative = sign[0] == signB ? sign[0] : rounding == Mxcsr.RD;
            return zero(fmt, negative);
        }
        if (cls[1] == ZERO) {
            return finiteResult(fmt, 0);
        }
        if (cls[0] == ZERO) {
            return roundPack(fmt, signB, exp[1], sig[1]);
        }
        // Both finite and nonzero: align at bit 60 (headroom for the carry), jam shifted-out bits.
        int ea = exp[0], eb = exp[1];
        long ma = sig[0] >>> 2, mb = sig[1] >>> 2;
        boolean sa = sign[0], sb = signB;
        if (ea < eb || (ea == eb && ma < mb)) {
            int te = ea; ea = eb; eb = te;
            long tm = ma; ma = mb; mb = tm;
            boolean ts = sa; sa = sb; sb = ts;
        }
        mb = shiftRightJam(mb, ea - eb);
        long m = sa == sb ? ma + mb : ma - mb;
        if (m == 0) {
            return zero(fmt, rounding == Mxcsr.RD);
        }
        int lead = 63 - Long.numberOfLeadingZeros(m);
        return roundPack(fmt, sa, ea + lead - (TOP - 2), m << (TOP - lead));
    }

    public long mul(int fmt, long a, long b) {
        if (unpackEitherNaN(fmt, a, b)) {
            return propagateNaN(fmt, a, b);
        }
        boolean negative = sign[0] ^ sign[1];
        if (cls[0] == INF || cls[1] == INF) {
            if (cls[0] == ZERO || cls[1] == ZERO) {
                return invalid(fmt);
            }
            denormalOperands();
            return infinity(fmt, negative);
        }
        denormalOperands();
        if (cls[0] == ZERO || cls[1] == ZERO) {
            return zero(fmt, negative);
        }
        long hi = Math.multiplyHigh(sig[0], sig[1]);
        long lo = sig[0] * sig[1];
        // The product is in [2^124, 2^126): bring its leading one to bit 62 with the rest jammed.
        int e = exp[0] + exp[1];
        long m;
        if ((hi & (1L << 61)) != 0) {
            e++;
            m = (hi << 1) | (lo >>> 63) | ((lo << 1) != 0 ? 1 : 0);
        } else {
            m = (hi << 2) | (lo >>> 62) | ((lo << 2) != 0 ? 1 : 0);
        }
        return roundPack(fmt, negative, e, m);
    }

    public long div(int fmt, long a, long b) {
        if (unpackEitherNaN(fmt, a, b)) {
            return propagateNaN(fmt, a, b);
        }
        boolean negative = sign[0] ^ sign[1];
        if ((cls[0] == INF && cls[1] == INF) || (cls[0] == ZERO && cls[1] == ZERO)) {
            return invalid(fmt);
        }
        if (cls[1] == ZERO && cls[0] == FINITE) {
            flags |= Mxcsr.ZE;
            return infinity(fmt, negative);
        }
        denormalOperands();
        if (cls[0] == INF || cls[1] == ZERO) {
            return infinity(fmt, negative);
        }
        if (cls[0] == ZERO || cls[1] == INF) {
            return zero(fmt, negative);
        }
        double da = unitDouble(sig[0]);
        double db = unitDouble(sig[1]);
        double q = da / db;
        double remainder = Math.fma(-q, db, da);
        int e = exp[0] - exp[1] + Math.getExponent(q);
        return roundPack(fmt, negative, e, near(q, remainder));
    }

    public long sqrt(int fmt, long a) {
        unpack(0, fmt, a);
        if (cls[0] >= QNAN) {
            if (cls[0] == SNAN) {
                flags |= Mxcsr.IE;
            }
            return quiet(fmt, a);
        }
        if (cls[0] == ZERO) {
            return zero(fmt, sign[0]);
        }
        if (sign[0]) {
            return invalid(fmt);
        }
        if (cls[0] == INF) {
            return a;
        }
        if (denormal[0]) {
            flags |= Mxcsr.DE;
        }
        int e = exp[0];
        double x = unitDouble(sig[0]) * ((e & 1) != 0 ? 2 : 1);
        double s = Math.sqrt(x);
        double remainder = Math.fma(-s, s, x);
        return roundPack(fmt, false, (e >> 1) + Math.getExponent(s), near(s, remainder));
    }

    /** A significand with its leading one at bit 62 as a double in [1, 2) (it has at most 53 bits). */
    private static double unitDouble(long m) {
        return Double.longBitsToDouble((1023L << 52) | ((m >>> (TOP - 52)) & ((1L << 52) - 1)));
    }

    /**
     * The significand of the exact value {@code r + remainder/divisor}, given the host's rounded {@code r}
     * and the sign of the exact remainder: r itself, or just above or below it (jammed), normalized.
     */
    private static long near(double r, double remainder) {
        long m = ((Double.doubleToRawLongBits(r) & ((1L << 52) - 1)) | (1L << 52)) << (TOP - 52);
        if (remainder > 0) {
            return m | 1;
        }
        // Just below r: for r = 2^k this drops under bit 62, which roundPack renormalizes.
        return remainder < 0 ? m - 1 : m;
    }

    /** Shifts right, OR-ing every bit shifted out into bit 0. */
    static long shiftRightJam(long m, int count) {
        if (count == 0) {
            return m;
        }
        if (count >= 63) {
            return m != 0 ? 1 : 0;
        }
        return (m >>> count) | ((m & ((1L << count) - 1)) != 0 ? 1 : 0);
    }

    // ---- rounding ----

    /**
     * Rounds {@code m >>> count} by the rounding mode, setting {@link #dropped}. {@code count} is 1..63 and
     * {@code m} non-negative.
     */
    private long roundShift(long m, int count, boolean negative, int mode) {
        long kept = m >>> count;
        long rest = m & ((1L << count) - 1);
        dropped = rest != 0;
        if (!dropped) {
            return kept;
        }
        boolean up = switch (mode) {
            case Mxcsr.RN -> {
                long half = 1L << (count - 1);
                yield rest > half || (rest == half && (kept & 1) != 0);
            }
            case Mxcsr.RD -> negative;
            case Mxcsr.RU -> !negative;
            default -> false;
        };
        return up ? kept + 1 : kept;
    }

    /**
     * Packs {@code ±m * 2^(e - 62)} into the format: rounds, detects tininess after rounding, denormalizes or
     * flushes (FTZ), overflows, and sets UE OE PE. {@code m} has its leading one at bit 62, or is below
     * 2^62 only when it was decremented from 2^62 (see {@link #near}), which rounding absorbs.
     */
    long roundPack(int fmt, boolean negative, int e, long m) {
        if (m < (1L << TOP)) {
            m = (m << 1) | 1;
            e--;
        }
        int precision = fmt + 1;
        int drop = 63 - precision;
        int emin = 1 - bias(fmt);
        int emax = bias(fmt);
        if (e < emin) {
            long rounded = roundShift(m, drop, negative, rounding);
            boolean tiny = !(e == emin - 1 && rounded == (1L << precision));
            if (tiny) {
                if (ftz && !underflowUnmasked) {
                    flags |= Mxcsr.UE | Mxcsr.PE;
                    return zero(fmt, negative);
                }
                int count = drop + (emin - e);
                long bits = count > 63 ? roundShift(m == 0 ? 0 : 1, 63, negative, rounding)
                        : roundShift(m, count, negative, rounding);
                if (dropped) {
                    flags |= Mxcsr.PE | Mxcsr.UE;
                } else if (underflowUnmasked) {
                    flags |= Mxcsr.UE;
                }
                // A carry into bit `fmt` turns the denormal into the smallest normal, encoded the same way.
                return bits | (negative ? signBit(fmt) : 0);
            }
        }
        long rounded = roundShift(m, drop, negative, rounding);
        if (rounded == (1L << precision)) {
            rounded >>>= 1;
            e++;
        }
        if (e > emax) {
            flags |= Mxcsr.OE | Mxcsr.PE;
            return switch (rounding) {
                case Mxcsr.RN -> infinity(fmt, negative);
                case Mxcsr.RD -> negative ? infinity(fmt, true) : largest(fmt, false);
                case Mxcsr.RU -> negative ? largest(fmt, true) : infinity(fmt, false);
                default -> largest(fmt, negative);
            };
        }
        if (dropped) {
            flags |= Mxcsr.PE;
        }
        return ((long) (e + bias(fmt)) << fmt) | (rounded & ((1L << fmt) - 1)) | (negative ? signBit(fmt) : 0);
    }

    // ---- conversions ----

    /** A signed integer to the format, rounded by the mode. */
    public long fromInt(int fmt, long value) {
        if (value == 0) {
            return 0;
        }
        boolean negative = value < 0;
        long magnitude = negative ? -value : value; // 2^63 stays as the unsigned Long.MIN_VALUE
        int lead = 63 - Long.numberOfLeadingZeros(magnitude);
        long m = lead > TOP ? shiftRightJam(magnitude, 1) : magnitude << (TOP - lead);
        return roundPack(fmt, negative, lead, m);
    }

    /**
     * The format to a signed integer of {@code size} bytes (4 or 8): by the rounding mode, or toward zero
     * when {@code truncate}. NaN, infinity and out-of-range values give the integer indefinite and IE.
     */
    public long toInt(int fmt, long bits, int size, boolean truncate) {
        unpack(0, fmt, bits);
        long indefinite = size == 4 ? INT32_INDEFINITE : INT64_INDEFINITE;
        if (cls[0] >= INF) {
            flags |= Mxcsr.IE;
            return indefinite;
        }
        if (cls[0] == ZERO) {
            return 0;
        }
        boolean negative = sign[0];
        int e = exp[0];
        int mode = truncate ? Mxcsr.RZ : rounding;
        if (e > 63) {
            flags |= Mxcsr.IE;
            return indefinite;
        }
        long magnitude;
        boolean inexact;
        if (e >= TOP) {
            magnitude = sig[0] << (e - TOP);
            inexact = false;
        } else {
            int count = TOP - e;
            if (count > 63) {
                magnitude = roundShift(1, 63, negative, mode);
                inexact = true;
            } else {
                magnitude = roundShift(sig[0], count, negative, mode);
                inexact = dropped;
            }
        }
        long limit = size == 4 ? 1L << 31 : Long.MIN_VALUE; // |minimum|, unsigned
        boolean fits = negative ? Long.compareUnsigned(magnitude, limit) <= 0
                : Long.compareUnsigned(magnitude, limit) < 0;
        if (!fits) {
            flags |= Mxcsr.IE;
            return indefinite;
        }
        if (inexact) {
            flags |= Mxcsr.PE;
        }
        long result = negative ? -magnitude : magnitude;
        return size == 4 ? result & 0xFFFFFFFFL : result;
    }

    /** Between formats (cvtss2sd, cvtsd2ss): NaNs keep their payload's top bits, quieted. */
    public long convert(int from, int to, long bits) {
        unpack(0, from, bits);
        switch (cls[0]) {
            case QNAN, SNAN -> {
                if (cls[0] == SNAN) {
                    flags |= Mxcsr.IE;
                }
                long fraction = bits & ((1L << from) - 1);
                fraction = to > from ? fraction << (to - from) : fraction >>> (from - to);
                return infinity(to, sign[0]) | fraction | quietBit(to);
            }
            case INF -> {
                return infinity(to, sign[0]);
            }
            case ZERO -> {
                return zero(to, sign[0]);
            }
            default -> {
                if (denormal[0]) {
                    flags |= Mxcsr.DE;
                }
                return roundPack(to, sign[0], exp[0], sig[0]);
            }
        }
    }

    // ---- inputs for comparisons, min and max ----

    /**
     * An operand as comparisons, min and max see it: a denormal becomes a signed zero under DAZ, else it
     * raises DE. Call it only when no operand is a NaN (a NaN operand hides DE).
     */
    public long compareInput(int fmt, long bits) {
        if (isDenormal(fmt, bits)) {
            if (daz) {
                return bits & signBit(fmt);
            }
            flags |= Mxcsr.DE;
        }
        return bits;
    }

    private static double value(int fmt, long bits) {
        return fmt == SINGLE ? Float.intBitsToFloat((int) bits) : Double.longBitsToDouble(bits);
    }

    /**
     * MINPS/MAXPS semantics: any NaN operand (quiet too) raises IE and gives the second operand; so do two
     * zeros of either sign and equal values. Not IEEE minNum/maxNum. DAZ flushes the operands first, so a
     * denormal second operand comes back as zero.
     */
    public long minMax(int fmt, long a, long b, boolean max) {
        if (isNaN(fmt, a) || isNaN(fmt, b)) {
            flags |= Mxcsr.IE;
            return daz && isDenormal(fmt, b) ? b & signBit(fmt) : b; // DAZ applies even here, DE does not
        }
        long x = compareInput(fmt, a);
        long y = compareInput(fmt, b);
        double dx = value(fmt, x), dy = value(fmt, y);
        return (max ? dx > dy : dx < dy) ? x : y;
    }

    /**
     * Orders a and b ({@link Comparison#LESS} EQUAL GREATER UNORDERED). A NaN operand makes them unordered
     * and raises IE if it is an SNaN or, when {@code signaling}, for a QNaN too.
     */
    private int order(int fmt, long a, long b, boolean signaling) {
        if (isNaN(fmt, a) || isNaN(fmt, b)) {
            if (signaling || classify(fmt, a) == SNAN || classify(fmt, b) == SNAN) {
                flags |= Mxcsr.IE;
            }
            return Comparison.UNORDERED;
        }
        double x = value(fmt, compareInput(fmt, a));
        double y = value(fmt, compareInput(fmt, b));
        return x < y ? Comparison.LESS : x == y ? Comparison.EQUAL : Comparison.GREATER;
    }

    /**
     * CMPPS/CMPSS predicate 0..7 (EQ LT LE UNORD NEQ NLT NLE ORD). An SNaN raises IE; the ordered-signaling
     * predicates LT LE NLT NLE raise it for a QNaN too.
     */
    public boolean compare(int fmt, long a, long b, int predicate) {
        int order = order(fmt, a, b, (predicate & 3) == 1 || (predicate & 3) == 2);
        return switch (predicate & 7) {
            case 0 -> order == Comparison.EQUAL;
            case 1 -> order == Comparison.LESS;
            case 2 -> order == Comparison.LESS || order == Comparison.EQUAL;
            case 3 -> order == Comparison.UNORDERED;
            case 4 -> order != Comparison.EQUAL;
            case 5 -> order != Comparison.LESS;
            case 6 -> order != Comparison.LESS && order != Comparison.EQUAL;
            default -> order != Comparison.UNORDERED;
        };
    }

    /**
     * COMISS/UCOMISS: ZF PF CF as RFLAGS bits. COMIS ({@code signaling}) raises IE for any NaN, UCOMIS only
     * for an SNaN.
     */
    public long compareFlags(int fmt, long a, long b, boolean signaling) {
        return orderFlags(order(fmt, a, b, signaling));
    }

    /**
     * ZF PF CF as (U)COMIS and FCOMI set them from an ordering: unordered 111, less 001, equal 100,
     * greater 000.
     */
    static long orderFlags(int order) {
        return switch (order) {
            case Comparison.LESS -> Flags.CF;
            case Comparison.EQUAL -> Flags.ZF;
            case Comparison.GREATER -> 0;
            default -> Flags.ZF | Flags.PF | Flags.CF;
        };
    }

    /**
     * RCPSS/RSQRTSS approximations (SDM: relative error at most 1.5 * 2^-12). These give the correctly
     * rounded value, which is within that bound; hardware tables differ between vendors, so only the special
     * cases are exact: denormal inputs count as zero, zero gives infinity, a negative input to RSQRT gives
     * the default NaN, and RCP of a magnitude of 2^126 or more flushes to zero (AMD's threshold; Intel's
     * manual puts it slightly lower, at 1.11111111110100000000000B * 2^125). No MXCSR flag is ever set.
     */
    public static int reciprocal(int bits, boolean squareRoot) {
        int cls = classify(SINGLE, bits & 0xFFFFFFFFL);
        boolean negative = bits < 0;
        if (cls >= QNAN) {
            return bits | (int) quietBit(SINGLE);
        }
        if (cls == ZERO || isDenormal(SINGLE, bits & 0xFFFFFFFFL)) {
            return negative ? 0xFF800000 : 0x7F800000;
        }
        if (squareRoot && negative) {
            return F32_DEFAULT_NAN;
        }
        if (cls == INF) {
            return negative ? 0x80000000 : 0;
        }
        if (!squareRoot && (bits & 0x7F800000) >= (253 << 23)) {
            return negative ? 0x80000000 : 0;
        }
        double x = Math.abs(Float.intBitsToFloat(bits));
        float r = (float) (squareRoot ? 1 / Math.sqrt(x) : 1 / x);
        int result = Float.floatToRawIntBits(r);
        return negative ? result | 0x80000000 : result;
    }
}
