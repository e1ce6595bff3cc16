package dev.hako.soft.fpu;

import static dev.hako.soft.fpu.Extended80.*;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * The x87 transcendentals (F2XM1 FYL2X FYL2XP1 FPTAN FPATAN FSIN FCOS FSINCOS), computed in decimal with
 * about 60 digits and rounded once to the precision control. Results are within an ulp of the exact value;
 * hardware itself differs between vendors in the last bit, and Intel reduces arguments with a 66-bit pi,
 * so for huge arguments of the trigonometric functions hardware and this exact reduction drift apart.
 *
 * <p>This is the one place that allocates (BigDecimal): these instructions are rare and slow on hardware too.
 */
public final class Transcendental {
    private static final MathContext MC = new MathContext(60, RoundingMode.HALF_EVEN);
    private static final BigDecimal TWO = BigDecimal.valueOf(2);
    private static final BigDecimal LN2 = atanhSeries(BigDecimal.ONE.divide(BigDecimal.valueOf(3), MC)).multiply(TWO, MC);
    private static final BigDecimal PI = BigDecimal.valueOf(16).multiply(atanSeries(BigDecimal.ONE.divide(
            BigDecimal.valueOf(5), MC)), MC).subtract(BigDecimal.valueOf(4).multiply(atanSeries(BigDecimal.ONE.divide(
            BigDecimal.valueOf(239), MC)), MC), MC);
    private static final BigDecimal HALF_PI = PI.divide(TWO, MC);
    /** pi/2 as hardware reduces trigonometric arguments: pi truncated to 66 bits (SDM vol. 1 8.3.10). */
    private static final BigDecimal HALF_PI_66 = new BigDecimal(new BigInteger("3243F6A8885A308D3", 16))
            .divide(new BigDecimal(BigInteger.ONE.shiftLeft(65)));

    private Transcendental() {}

    /** FSIN, FCOS, FSINCOS and FPTAN do nothing but set C2 for |x| >= 2^63. */
    public static boolean outOfRange(int se, long sig) {
        int cls = classify(se, sig);
        return (cls == NORMAL) && (se & MAX_EXP) >= BIAS + 63;
    }

    // ---- exact conversions ----

    public static BigDecimal toDecimal(int se, long sig) {
        BigInteger magnitude = new BigInteger(Long.toUnsignedString(sig));
        int exp = se & MAX_EXP;
        int power = (exp == 0 ? 1 : exp) - BIAS - 63;
        BigDecimal v = power >= 0 ? new BigDecimal(magnitude.shiftLeft(power))
                : new BigDecimal(magnitude.multiply(BigInteger.valueOf(5).pow(-power)), -power);
        return (se & 0x8000) != 0 ? v.negate() : v;
    }

    /** Rounds a decimal to the precision control; {@code inexact} marks it as an approximation of an irrational. */
    static void fromDecimal(Extended80 f, BigDecimal v, boolean inexact) {
        if (v.signum() == 0) {
            f.set(0, 0);
            return;
        }
        boolean neg = v.signum() < 0;
        v = v.abs();
        BigInteger unscaled = v.unscaledValue();
        int scale = v.scale();
        long estimate = unscaled.bitLength() - (long) Math.ceil(scale * 3.321928094887362);
        long k = 140 - estimate;
        BigInteger num = unscaled;
        BigInteger den = BigInteger.ONE;
        if (scale > 0) {
            den = BigInteger.TEN.pow(scale);
        } else {
            num = num.multiply(BigInteger.TEN.pow(-scale));
        }
        if (k > 0) {
            num = num.shiftLeft((int) k);
        } else {
            den = den.shiftLeft((int) -k);
        }
        BigInteger[] qr = num.divideAndRemainder(den);
        BigInteger q = qr[0];
        boolean sticky = inexact || qr[1].signum() != 0;
        int extra = q.bitLength() - 128;
        if (extra > 0) {
            sticky |= q.getLowestSetBit() < extra;
            q = q.shiftRight(extra);
        } else {
            q = q.shiftLeft(-extra);
        }
        long hi = q.shiftRight(64).longValue();
        long lo = q.longValue() | (sticky ? 1 : 0);
        long e = 127L + extra - k + BIAS;
        if (e > 0x20000) {
            e = 0x20000;
        } else if (e < -0x20000) {
            e = -0x20000;
        }
        f.roundPack(neg, (int) e, hi, lo, 64); // precision control does not apply here
    }

    // ---- series ----

    /** atanh(z) for |z| well below 1. */
    private static BigDecimal atanhSeries(BigDecimal z) {
        return oddPowerSeries(z, false);
    }

    /** atan(z) for |z| well below 1. */
    private static BigDecimal atanSeries(BigDecimal z) {
        return oddPowerSeries(z, true);
    }

    /** z + z^3/3 + z^5/5 + ... (atanh), or with alternating signs (atan), until the terms stop mattering. */
    private static BigDecimal oddPowerSeries(BigDecimal z, boolean alternating) {
        BigDecimal z2 = z.multiply(z, MC);
        if (alternating) {
            z2 = z2.negate();
        }
        BigDecimal term = z;
        BigDecimal sum = z;
        for (int n = 3; n < 2000; n += 2) {
            term = term.multiply(z2, MC);
            BigDecimal t = term.divide(BigDecimal.valueOf(n), MC);
            if (t.signum() == 0 || t.abs().compareTo(sum.abs().movePointLeft(62)) < 0) {
                break;
            }
            sum = sum.add(t, MC);
        }
        return sum;
    }

    /** atan(z) for any z: halve the argument until small, then the series. */
    private static BigDecimal atan(BigDecimal z) {
        if (z.abs().compareTo(BigDecimal.ONE) > 0) {
            BigDecimal r = HALF_PI.subtract(atan(BigDecimal.ONE.divide(z.abs(), MC)), MC);
            return z.signum() < 0 ? r.negate() : r;
        }
        int halvings = 0;
        while (z.abs().compareTo(new BigDecimal("0.1")) > 0) {
            z = z.divide(BigDecimal.ONE.add(BigDecimal.ONE.add(z.multiply(z, MC), MC).sqrt(MC), MC), MC);
            halvings++;
        }
        return atanSeries(z).multiply(BigDecimal.valueOf(1L << halvings), MC);
    }

    /** ln(v) for v > 0, relative-accurate near 1. */
    private static BigDecimal ln(BigDecimal v) {
        // v = m * 2^e with m in [0.75, 1.5).
        int e = 0;
        BigDecimal m = v;
        int bits = (int) (v.unscaledValue().bitLength() - Math.ceil(v.scale() * 3.321928094887362));
        if (Math.abs(bits) > 2) {
            e = bits;
            m = e > 0 ? v.divide(TWO.pow(e), MC) : v.multiply(TWO.pow(-e), MC);
        }
        while (m.compareTo(new BigDecimal("1.5")) >= 0) {
            m = m.divide(TWO, MC);
            e++;
        }
        while (m.compareTo(new BigDecimal("0.75")) < 0) {
            m = m.multiply(TWO, MC);
            e--;
        }
        BigDecimal z = m.subtract(BigDecimal.ONE).divide(m.add(BigDecimal.ONE), MC);
        return atanhSeries(z).multiply(TWO, MC).add(LN2.multiply(BigDecimal.valueOf(e), MC), MC);
    }

    /** e^t - 1 for |t| <= 1, relative-accurate near 0. */
    private static BigDecimal expm1(BigDecimal t) {
        BigDecimal term = t;
        BigDecimal sum = t;
        for (int n = 2; n < 500; n++) {
            term = term.multiply(t, MC).divide(BigDecimal.valueOf(n), MC);
            if (term.signum() == 0 || term.abs().compareTo(sum.abs().movePointLeft(62)) < 0) {
                break;
            }
            sum = sum.add(term, MC);
        }
        return sum;
    }

    /** sin (cosine false) or cos of x, reducing by pi/2 exactly enough for |x| < 2^63. */
    private static BigDecimal sinCos(BigDecimal x, boolean cosine) {
        MathContext wide = new MathContext(MC.getPrecision() + 25);
        BigDecimal halfPi = HALF_PI_66;
        BigDecimal[] qr = x.divideAndRemainder(halfPi, wide);
        BigInteger quadrant = qr[0].toBigInteger();
        BigDecimal r = qr[1];
        int q = quadrant.mod(BigInteger.valueOf(4)).intValue() + (cosine ? 1 : 0);
        // sin(r + q*pi/2): q=0 sin r, 1 cos r, 2 -sin r, 3 -cos r.
        if (r.abs().compareTo(halfPi.divide(TWO, MC)) > 0) {
            // Keep the series argument small: reduce r to r - pi/2 and shift the quadrant.
            r = r.subtract(halfPi, MC);
            q++;
        }
        boolean useCos = (q & 1) != 0;
        BigDecimal r2 = r.multiply(r, MC).negate();
        BigDecimal term = useCos ? BigDecimal.ONE : r;
        BigDecimal sum = term;
        for (int n = useCos ? 1 : 2; n < 400; n += 2) {
            term = term.multiply(r2, MC).divide(BigDecimal.valueOf((long) n * (n + 1)), MC);
            if (term.signum() == 0 || term.abs().compareTo(sum.abs().movePointLeft(62)) < 0) {
                break;
            }
            sum = sum.add(term, MC);
        }
        return (q & 2) != 0 ? sum.negate() : sum;
    }

    // ---- instructions ----

    private static boolean prologue(Extended80 f, int se, long sig, int cls) {
        if (f.propagateNaN(se, sig, cls)) {
            return true;
        }
        if (cls == DENORMAL) {
            f.flags |= DE;
        }
        return false;
    }

    public static void twoToXMinusOne(Extended80 f, int se, long sig) {
        int cls = classify(se, sig);
        if (prologue(f, se, sig, cls)) {
            return;
        }
        if (cls == ZERO) {
            f.set(se, 0);
        } else if (cls == INF) {
            f.set(se & 0x8000 | ((se & 0x8000) != 0 ? BIAS : MAX_EXP), INTEGER_BIT);
        } else if ((se & MAX_EXP) >= BIAS && !((se & MAX_EXP) == BIAS && sig == INTEGER_BIT)) {
            f.set(se, sig); // |x| > 1 is outside the domain: hardware returns the operand
        } else {
            fromDecimal(f, expm1(toDecimal(se, sig).multiply(LN2, MC)), true);
        }
    }

    public static void sine(Extended80 f, int se, long sig) {
        trig(f, se, sig, false);
    }

    public static void cosine(Extended80 f, int se, long sig) {
        trig(f, se, sig, true);
    }

    private static void trig(Extended80 f, int se, long sig, boolean cosine) {
        int cls = classify(se, sig);
        if (prologue(f, se, sig, cls)) {
            return;
        }
        if (cls == INF) {
            f.invalid();
        } else if (cls == ZERO) {
            f.set(cosine ? BIAS : se, cosine ? INTEGER_BIT : 0);
        } else {
            fromDecimal(f, sinCos(toDecimal(se, sig), cosine), true);
        }
    }

    public static void tangent(Extended80 f, int se, long sig) {
        int cls = classify(se, sig);
        if (prologue(f, se, sig, cls)) {
            return;
        }
        if (cls == INF) {
            f.invalid();
        } else if (cls == ZERO) {
            f.set(se, 0);
        } else {
            BigDecimal x = toDecimal(se, sig);
            fromDecimal(f, sinCos(x, false).divide(sinCos(x, true), MC), true);
        }
    }

    /** FYL2X: y * log2(x). */
    public static void yLog2X(Extended80 f, int seY, long sigY, int seX, long sigX) {
        logarithm(f, seY, sigY, seX, sigX, false);
    }

    /** FYL2XP1: y * log2(x + 1). */
    public static void yLog2XPlusOne(Extended80 f, int seY, long sigY, int seX, long sigX) {
        logarithm(f, seY, sigY, seX, sigX, true);
    }

    private static void logarithm(Extended80 f, int seY, long sigY, int seX, long sigX, boolean plusOne) {
        int cy = classify(seY, sigY), cx = classify(seX, sigX);
        if (f.propagateNaN(seX, sigX, cx, seY, sigY, cy)) {
            return;
        }
        boolean negX = (seX & 0x8000) != 0;
        if ((cx == DENORMAL || cy == DENORMAL) && !(negX && !plusOne)) {
            f.flags |= DE;
        }
        BigDecimal x = cx == INF || cx == ZERO ? null : toDecimal(seX, sigX);
        BigDecimal argument = x == null ? null : plusOne ? x.add(BigDecimal.ONE) : x;
        // The logarithm's class: -inf for log(0), +inf for log(inf), zero for log(1), else finite.
        int logSe;
        if (plusOne ? (cx == INF && negX) || (argument != null && argument.signum() < 0)
                : (negX && cx != ZERO)) {
            f.invalid();
            return;
        }
        if (plusOne && cx == ZERO) {
            f.mul(seY, sigY, seX, sigX); // log2(1 + x) ~ x/ln2: same zero sign rules as y * x
            return;
        }
        if (!plusOne && cx == ZERO || argument != null && argument.signum() == 0) {
            logSe = 0x8000 | MAX_EXP;
        } else if (cx == INF) {
            logSe = MAX_EXP;
        } else if (argument.compareTo(BigDecimal.ONE) == 0) {
            logSe = 0;
        } else {
            logSe = -1;
        }
        if (logSe >= 0) {
            if (logSe == (0x8000 | MAX_EXP) && (cy != ZERO && cy != INF)) {
                f.flags |= ZE;
                f.set(((seY & 0x8000) ^ 0x8000) | MAX_EXP, INTEGER_BIT);
                return;
            }
            f.mul(seY, sigY, logSe, logSe == 0 ? 0 : INTEGER_BIT);
            return;
        }
        if (cy == INF || cy == ZERO) {
            boolean logNegative = argument.compareTo(BigDecimal.ONE) < 0;
            f.set((seY & 0x8000) ^ (logNegative ? 0x8000 : 0) | (cy == INF ? MAX_EXP : 0), cy == INF ? INTEGER_BIT : 0);
            return;
        }
        BigDecimal log2 = plusOne ? atanhSeries(x.divide(x.add(TWO), MC)).multiply(TWO, MC).divide(LN2, MC)
                : ln(argument).divide(LN2, MC);
        fromDecimal(f, toDecimal(seY, sigY).multiply(log2, MC), true);
    }

    /** FPATAN: atan2(y, x) with the C99 rules for zeros and infinities. */
    public static void arcTangent(Extended80 f, int seY, long sigY, int seX, long sigX) {
        int cy = classify(seY, sigY), cx = classify(seX, sigX);
        if (f.propagateNaN(seY, sigY, cy, seX, sigX, cx)) {
            return;
        }
        if (cx == DENORMAL || cy == DENORMAL) {
            f.flags |= DE;
        }
        boolean negY = (seY & 0x8000) != 0, negX = (seX & 0x8000) != 0;
        BigDecimal angle;
        if (cy == ZERO) {
            if (!negX) {
                f.set(seY & 0x8000, 0);
                return;
            }
            angle = PI;
        } else if (cy == INF) {
            angle = cx == INF ? (negX ? PI.multiply(new BigDecimal("0.75"), MC) : PI.divide(BigDecimal.valueOf(4), MC))
                    : HALF_PI;
        } else if (cx == INF) {
            if (!negX) {
                f.set(seY & 0x8000, 0);
                return;
            }
            angle = PI;
        } else if (cx == ZERO) {
            angle = HALF_PI;
        } else {
            BigDecimal y = toDecimal(seY & 0x7FFF, sigY), x = toDecimal(seX & 0x7FFF, sigX);
            angle = atan(y.divide(x, MC));
            if (negX) {
                angle = PI.subtract(angle, MC);
            }
        }
        fromDecimal(f, negY ? angle.negate() : angle, true);
    }
}
