package dev.hako.soft.exec;

import static dev.hako.soft.exec.SoftFloat.DOUBLE;
import static dev.hako.soft.exec.SoftFloat.SINGLE;
import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SoftFloatTest {
    private static final int DEFAULT = 0x1F80, DAZ = 0x40, FTZ = 0x8000;
    private static final int RD = 0x2000, RU = 0x4000, RZ = 0x6000;

    private final SoftFloat f = new SoftFloat();

    /** Results and MXCSR flags measured on the host CPU (an AMD Zen, SSE addss/mulss/divss and friends). */
    @ParameterizedTest(name = "{0} {1} {2} mxcsr {3}")
    @CsvSource({
            // op, a, b, mxcsr, result, flags
            "add, 00000000, 00000001, 9f80, 00000000, 32",   // FTZ flushes an exact denormal result
            "add, 00800000, 80000001, 9f80, 00000000, 32",
            "add, 00800000, 80000001, 1f80, 007fffff, 02",
            "div, 00000001, 00000000, 1f80, 7f800000, 04",   // divide by zero hides DE
            "min, 7fc00000, 3f800000, 1f80, 3f800000, 01",   // a QNaN signals in MIN, gives the second operand
            "min, 00000001, 3f800000, 1fc0, 00000000, 00",   // DAZ: the denormal becomes zero
            "min, 3f800000, 00000001, 1fc0, 00000000, 00",
            "mul, 3f7fffff, 00800000, 1f80, 00800000, 30",
            "mul, 3f7fffff, 00800000, 9f80, 00000000, 30",
            "mul, 3f7ffffe, 00800000, 1f80, 007fffff, 00",
            "mul, 3f7fffff, 00800000, 7f80, 007fffff, 30",
            "mul, 00800001, 3f7ffffe, 1f80, 00800000, 20",   // tininess is detected after rounding
            "mul, 00800001, 3f7ffffe, 9f80, 00800000, 20",
            "mul, 00800001, 3f7ffffe, 5f80, 00800000, 20",
            "add, 7f800000, 00000001, 1f80, 7f800000, 02",
            "add, 7fc00000, 00000001, 1f80, 7fc00000, 00",   // a QNaN operand hides DE
            "add, 7f800000, ff800000, 1f80, ffc00000, 01",
            "mul, 7f800000, 00000001, 1f80, 7f800000, 02",
            "mul, 00000000, 7f800000, 1f80, ffc00000, 01",
            "mul, 00000001, 7f800000, 1fc0, ffc00000, 01",
            "div, 3f800000, 00000001, 1f80, 7f800000, 2a",
            "add, 7f800001, 7fc00001, 1f80, 7fc00001, 01",
            "add, 3f800000, 7f800001, 1f80, 7fc00001, 01",
            "add, 7f7fffff, 7f7fffff, 7f80, 7f7fffff, 28",
            "add, 00000001, 00000001, 9f80, 00000000, 32",
            "add, 00000001, 80000001, 3f80, 80000000, 02",
            "max, 80000000, 00000000, 1f80, 00000000, 00",
            "sqrt, 0, 80000001, 1f80, ffc00000, 01",
            "sqrt, 0, 80000000, 1f80, 80000000, 00",
            "sqrt, 0, 00000001, 1f80, 1a3504f3, 22",
    })
    void matchesHostOnSpecialCases(String op, String a, String b, String mxcsr, String result, String flags) {
        f.begin(Integer.parseInt(mxcsr, 16));
        long x = Long.parseLong(a, 16), y = Long.parseLong(b, 16);
        long r = switch (op) {
            case "add" -> f.add(SINGLE, x, y);
            case "mul" -> f.mul(SINGLE, x, y);
            case "div" -> f.div(SINGLE, x, y);
            case "min" -> f.minMax(SINGLE, x, y, false);
            case "max" -> f.minMax(SINGLE, x, y, true);
            default -> f.sqrt(SINGLE, y);
        };
        assertThat(Long.toHexString(r)).isEqualTo(Long.toHexString(Long.parseLong(result, 16)));
        assertThat(Integer.toHexString(f.flags)).isEqualTo(Integer.toHexString(Integer.parseInt(flags, 16)));
    }

    @Test
    void convertsToIntegerAsTheHostDoes() {
        f.begin(DEFAULT | DAZ);
        assertThat(f.toInt(SINGLE, 1, 4, false)).isZero();
        assertThat(f.flags).isZero();
        f.begin(DEFAULT);
        assertThat(f.toInt(SINGLE, 1, 4, false)).isZero();
        assertThat(f.flags).isEqualTo(Mxcsr.PE);
        f.begin(DEFAULT);
        assertThat(f.toInt(SINGLE, Float.floatToRawIntBits(2.5f), 4, false)).isEqualTo(2);
        assertThat(f.toInt(SINGLE, Float.floatToRawIntBits(-2.5f), 4, true) & 0xFFFFFFFFL).isEqualTo(0xFFFFFFFEL);
        assertThat(f.toInt(DOUBLE, Double.doubleToRawLongBits(2147483647.4), 4, false)).isEqualTo(0x7FFFFFFFL);
        assertThat(f.flags).isEqualTo(Mxcsr.PE);
        f.begin(DEFAULT);
        assertThat(f.toInt(DOUBLE, Double.doubleToRawLongBits(2147483647.5), 4, false)).isEqualTo(0x80000000L);
        assertThat(f.flags).isEqualTo(Mxcsr.IE);
        f.begin(DEFAULT);
        assertThat(f.toInt(DOUBLE, Double.doubleToRawLongBits(-9.223372036854775808E18), 8, false))
                .isEqualTo(Long.MIN_VALUE);
        assertThat(f.flags).isZero();
        assertThat(f.toInt(DOUBLE, Double.doubleToRawLongBits(9.223372036854775807E18), 8, false))
                .isEqualTo(Long.MIN_VALUE);
        assertThat(f.flags).isEqualTo(Mxcsr.IE);
        f.begin(DEFAULT | RD);
        assertThat(f.toInt(DOUBLE, Double.doubleToRawLongBits(-0.25), 8, false)).isEqualTo(-1);
        f.begin(DEFAULT | RU);
        assertThat(f.toInt(DOUBLE, Double.doubleToRawLongBits(1e-300), 8, false)).isEqualTo(1);
        assertThat(f.toInt(DOUBLE, Double.doubleToRawLongBits(1e-300), 8, true)).isEqualTo(0);
    }

    @Test
    void roundToNearestAgreesWithJava() {
        Random rnd = new Random(1);
        f.begin(DEFAULT);
        for (int k = 0; k < 200_000; k++) {
            double a = randomDouble(rnd), b = randomDouble(rnd);
            long ba = Double.doubleToRawLongBits(a), bb = Double.doubleToRawLongBits(b);
            assertSameDouble(f.add(DOUBLE, ba, bb), a + b, a, b);
            assertSameDouble(f.sub(DOUBLE, ba, bb), a - b, a, b);
            assertSameDouble(f.mul(DOUBLE, ba, bb), a * b, a, b);
            assertSameDouble(f.div(DOUBLE, ba, bb), a / b, a, b);
            assertSameDouble(f.sqrt(DOUBLE, ba), Math.sqrt(a), a, b);
            float x = (float) a, y = (float) b;
            if (rnd.nextInt(4) == 0) {
                x = Float.intBitsToFloat(rnd.nextInt());
                y = Float.intBitsToFloat(rnd.nextInt());
            }
            long bx = Float.floatToRawIntBits(x) & 0xFFFFFFFFL, by = Float.floatToRawIntBits(y) & 0xFFFFFFFFL;
            assertSameFloat(f.add(SINGLE, bx, by), x + y, x, y);
            assertSameFloat(f.sub(SINGLE, bx, by), x - y, x, y);
            assertSameFloat(f.mul(SINGLE, bx, by), x * y, x, y);
            assertSameFloat(f.div(SINGLE, bx, by), x / y, x, y);
            assertSameFloat(f.sqrt(SINGLE, bx), (float) Math.sqrt(x), x, y);
            assertSameFloat(f.convert(DOUBLE, SINGLE, ba), (float) a, (float) a, 0);
            assertSameDouble(f.convert(SINGLE, DOUBLE, bx), x, x, 0);
            long n = rnd.nextLong() >> rnd.nextInt(64);
            assertSameDouble(f.fromInt(DOUBLE, n), (double) n, n, 0);
            assertSameFloat(f.fromInt(SINGLE, n), (float) n, n, 0);
        }
    }

    @Test
    void directedRoundingBracketsTheExactResult() {
        Random rnd = new Random(2);
        int[] modes = {RD, RU, RZ};
        for (int k = 0; k < 100_000; k++) {
            double a = randomDouble(rnd), b = randomDouble(rnd);
            if (!Double.isFinite(a) || !Double.isFinite(b) || b == 0) {
                continue;
            }
            long ba = Double.doubleToRawLongBits(a), bb = Double.doubleToRawLongBits(b);
            BigDecimal x = new BigDecimal(a), y = new BigDecimal(b);
            for (int mode : modes) {
                f.begin(DEFAULT | mode);
                checkBracket(mode, f.add(DOUBLE, ba, bb), x.add(y), f.flags);
                f.begin(DEFAULT | mode);
                checkBracket(mode, f.mul(DOUBLE, ba, bb), x.multiply(y), f.flags);
                f.begin(DEFAULT | mode);
                // r <= a/b  <=>  r*b <= a for b > 0: compare r*|b| with a*sign(b).
                long q = f.div(DOUBLE, ba, bb);
                int qFlags = f.flags;
                if (Double.isFinite(Double.longBitsToDouble(q))) {
                    BigDecimal r = new BigDecimal(Double.longBitsToDouble(q));
                    BigDecimal ab = b > 0 ? x : x.negate();
                    BigDecimal bAbs = y.abs();
                    int cmp = r.multiply(bAbs).compareTo(ab);
                    double qd = Double.longBitsToDouble(q);
                    checkDirection(mode, q, cmp, qFlags, () -> new int[] {
                            sign(Math.nextUp(qd), v -> v.multiply(bAbs).compareTo(ab)),
                            sign(Math.nextDown(qd), v -> v.multiply(bAbs).compareTo(ab))});
                }
                if (a > 0) {
                    f.begin(DEFAULT | mode);
                    long s = f.sqrt(DOUBLE, ba);
                    int sFlags = f.flags;
                    BigDecimal r = new BigDecimal(Double.longBitsToDouble(s));
                    double sd = Double.longBitsToDouble(s);
                    checkDirection(mode, s, r.multiply(r).compareTo(x), sFlags, () -> new int[] {
                            sign(Math.nextUp(sd), v -> v.multiply(v).compareTo(x)),
                            sign(Math.nextDown(sd), v -> v.multiply(v).compareTo(x))});
                }
            }
        }
    }

    /** RCP/RSQRT: the special cases the host gives, and the manual's error bound 1.5 * 2^-12 elsewhere. */
    @ParameterizedTest(name = "{0}({1})")
    @CsvSource({
            "rcp, 00000001, 7f800000", "rcp, 7e800000, 00000000",
            "rcp, 7f800001, 7fc00001", "rcp, ff800000, 80000000", "rcp, 80000000, ff800000",
            "rsqrt, bf800000, ffc00000", "rsqrt, 80000001, ff800000", "rsqrt, 7f800000, 00000000",
    })
    void approximationsMatchHostSpecialCases(String op, String in, String out) {
        int r = SoftFloat.reciprocal((int) Long.parseLong(in, 16), op.equals("rsqrt"));
        assertThat(Integer.toHexString(r)).isEqualTo(Integer.toHexString((int) Long.parseLong(out, 16)));
    }

    @Test
    void approximationsStayWithinTheManualsBound() {
        Random rnd = new Random(3);
        for (int k = 0; k < 100_000; k++) {
            float x = Float.intBitsToFloat((rnd.nextInt(250) + 2 << 23) | rnd.nextInt(1 << 23));
            double rcp = Float.intBitsToFloat(SoftFloat.reciprocal(Float.floatToRawIntBits(x), false));
            double rsqrt = Float.intBitsToFloat(SoftFloat.reciprocal(Float.floatToRawIntBits(x), true));
            if (Math.abs(x) < 0x1p126f) {
                assertThat(Math.abs(rcp * x - 1)).as("rcp %s", x).isLessThanOrEqualTo(1.5 * 0x1p-12);
            }
            assertThat(Math.abs(rsqrt * Math.sqrt(x) - 1)).as("rsqrt %s", x).isLessThanOrEqualTo(1.5 * 0x1p-12);
        }
    }

    private static void checkBracket(int mode, long bits, BigDecimal exact, int flags) {
        double r = Double.longBitsToDouble(bits);
        if (!Double.isFinite(r)) {
            return;
        }
        BigDecimal rd = new BigDecimal(r);
        checkDirection(mode, bits, rd.compareTo(exact), flags, () -> new int[] {
                sign(Math.nextUp(r), v -> v.compareTo(exact)), sign(Math.nextDown(r), v -> v.compareTo(exact))});
    }

    /** {@code compare} applied to a finite value; an infinity is beyond every finite exact value. */
    private static int sign(double v, java.util.function.ToIntFunction<BigDecimal> compare) {
        return Double.isInfinite(v) ? (v > 0 ? 1 : -1) : compare.applyAsInt(new BigDecimal(v));
    }

    /**
     * {@code cmp} is sign(result - exact); {@code neighbours} gives sign(nextUp - exact), sign(nextDown - exact).
     * Checks that the result is the right neighbour of the exact value for the mode, and PE.
     */
    private static void checkDirection(int mode, long bits, int cmp, int flags,
            java.util.function.Supplier<int[]> neighbours) {
        double r = Double.longBitsToDouble(bits);
        assertThat((flags & Mxcsr.PE) != 0).as("PE for %s", r).isEqualTo(cmp != 0);
        if (cmp == 0) {
            return;
        }
        int[] n = neighbours.get();
        boolean towardZero = mode == RZ;
        boolean down = mode == RD || (towardZero && (r > 0 || (r == 0 && cmp > 0)));
        if (r == 0 && mode == RZ) {
            return;
        }
        if (down) {
            assertThat(cmp).as("rounded down %s", r).isNegative();
            assertThat(n[0]).as("next up above exact %s", r).isPositive();
        } else {
            assertThat(cmp).as("rounded up %s", r).isPositive();
            assertThat(n[1]).as("next down below exact %s", r).isNegative();
        }
    }

    private static double randomDouble(Random rnd) {
        return switch (rnd.nextInt(8)) {
            case 0 -> Double.longBitsToDouble(rnd.nextLong());
            case 1 -> Double.longBitsToDouble(rnd.nextLong() & 0x800FFFFFFFFFFFFFL); // denormal
            case 2 -> (rnd.nextBoolean() ? 1 : -1) * Double.MIN_NORMAL * (1 + rnd.nextDouble());
            case 3 -> rnd.nextInt(1000) - 500;
            case 4 -> Math.scalb(1.0 + rnd.nextInt(16) / 16.0, rnd.nextInt(2200) - 1100);
            default -> rnd.nextGaussian() * Math.pow(10, rnd.nextInt(40) - 20);
        };
    }

    private static void assertSameDouble(long actual, double expected, double a, double b) {
        if (Double.isNaN(expected)) {
            assertThat(Double.isNaN(Double.longBitsToDouble(actual))).as("%s %s", a, b).isTrue();
            return;
        }
        assertThat(Long.toHexString(actual)).as("%s %s -> %s", a, b, expected)
                .isEqualTo(Long.toHexString(Double.doubleToRawLongBits(expected)));
    }

    private static void assertSameFloat(long actual, float expected, double a, double b) {
        if (Float.isNaN(expected)) {
            assertThat(Float.isNaN(Float.intBitsToFloat((int) actual))).as("%s %s", a, b).isTrue();
            return;
        }
        assertThat(Long.toHexString(actual)).as("%s %s -> %s", a, b, expected)
                .isEqualTo(Long.toHexString(Float.floatToRawIntBits(expected) & 0xFFFFFFFFL));
    }
}
