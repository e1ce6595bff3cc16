package dev.hako.soft.exec;

/** 128-by-64-bit division, for 64-bit DIV and IDIV. Results go to a caller's scratch array: no allocation. */
public final class Wide {
    private Wide() {}

    /** Unsigned (high:low) / d with high < d (unsigned), so the quotient fits: out[0] quotient, out[1] remainder. */
    static void divideUnsigned(long high, long low, long d, long[] out) {
        if (high == 0) {
            out[0] = Long.divideUnsigned(low, d);
            out[1] = Long.remainderUnsigned(low, d);
            return;
        }
        long quot = quotientUnsigned(high, low, d);
        out[0] = quot;
        out[1] = low - quot * d; // exact: the remainder is below d, so its low 64 bits are all of it
    }

    /** The quotient of unsigned (high:low) / d with high < d (unsigned). Shift-subtract, one bit per step. */
    public static long quotientUnsigned(long high, long low, long d) {
        long rem = high;
        long quot = 0;
        for (int bit = 63; bit >= 0; bit--) {
            boolean carry = rem < 0; // the remainder's top bit is shifted out: it exceeds d for sure
            rem = (rem << 1) | ((low >>> bit) & 1);
            quot <<= 1;
            if (carry || Long.compareUnsigned(rem, d) >= 0) {
                rem -= d;
                quot |= 1;
            }
        }
        return quot;
    }

    /** Signed (high:low) / d truncated toward zero; false when the quotient does not fit in 64 bits. */
    static boolean divideSigned(long high, long low, long d, long[] out) {
        boolean negative = high < 0;
        long nh = high;
        long nl = low;
        if (negative) {
            nl = -low;
            nh = ~high + (low == 0 ? 1 : 0);
        }
        boolean divisorNegative = d < 0;
        long ud = divisorNegative ? -d : d;
        if (Long.compareUnsigned(nh, ud) >= 0) {
            return false;
        }
        divideUnsigned(nh, nl, ud, out);
        long q = out[0];
        long r = out[1];
        boolean quotientNegative = negative != divisorNegative;
        if (quotientNegative ? Long.compareUnsigned(q, 1L << 63) > 0 : q < 0) {
            return false;
        }
        out[0] = quotientNegative ? -q : q;
        out[1] = negative ? -r : r;
        return true;
    }
}
