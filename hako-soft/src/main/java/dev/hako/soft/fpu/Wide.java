package dev.hako.soft.fpu;

/** 128-bit unsigned division and square root for the significand arithmetic; results left in fields. */
final class Wide {
    /** Remainder of the last {@link #divide}, or low half of the last {@link #sqrt} remainder. */
    long remainder;
    /** High half of the last {@link #sqrt} remainder (at most a few bits). */
    long remainderHi;

    /** floor((hi:lo) / d) for hi < d (unsigned), so that the quotient fits in 64 bits. */
    long divide(long hi, long lo, long d) {
        long q = 0;
        for (int i = 0; i < 64; i++) {
            boolean top = hi < 0;
            hi = (hi << 1) | (lo >>> 63);
            lo <<= 1;
            q <<= 1;
            if (top || Long.compareUnsigned(hi, d) >= 0) {
                hi -= d;
                q |= 1;
            }
        }
        remainder = hi;
        return q;
    }

    /** floor(sqrt(hi:lo)), digit by digit; the remainder (hi:lo) - root^2 is left in remainderHi:remainder. */
    long sqrt(long hi, long lo) {
        long rh = 0, rl = 0, root = 0;
        for (int i = 0; i < 64; i++) {
            rh = (rh << 2) | (rl >>> 62);
            rl = (rl << 2) | (hi >>> 62);
            hi = (hi << 2) | (lo >>> 62);
            lo <<= 2;
            long th = root >>> 62, tl = (root << 2) | 1;
            if (rh > th || (rh == th && Long.compareUnsigned(rl, tl) >= 0)) {
                long borrow = Long.compareUnsigned(rl, tl) < 0 ? 1 : 0;
                rl -= tl;
                rh = rh - th - borrow;
                root = (root << 1) | 1;
            } else {
                root <<= 1;
            }
        }
        remainderHi = rh;
        remainder = rl;
        return root;
    }
}
