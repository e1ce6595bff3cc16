package dev.hako.soft.translate;

/**
 * Element-wise work on one 64-bit half of an XMM register that translated SSE2 code calls: branch-free SIMD
 * within a long (the interpreter's {@code SsePackedInt} loops over the elements; these give the same bits).
 */
public final class PackedLanes {
    private static final long[] LOW_BITS = {0, 0x7F7F7F7F7F7F7F7FL, 0x7FFF7FFF7FFF7FFFL, 0, 0x7FFFFFFF7FFFFFFFL};
    private static final long[] ONES = {0, 0xFFL, 0xFFFFL, 0, 0xFFFFFFFFL};

    private PackedLanes() {}

    /** PCMPEQB/W/D: each element of {@code width} bytes all ones where a's equals b's, else zero. */
    public static long equal(long a, long b, int width) {
        long x = a ^ b;
        long low = LOW_BITS[width];
        long top = ~low & (width == 1 ? 0x8080808080808080L : width == 2 ? 0x8000800080008000L : 0x8000000080000000L);
        // An element's top bit ends up set exactly when the element of x is non-zero: the low bits are added
        // up into it without carrying out of the element.
        long nonZero = (((x & low) + low) | x) & top;
        long equalTops = nonZero ^ top;
        return (equalTops >>> (width * 8 - 1)) * ONES[width];
    }

    /** PMOVMSKB: the top bit of each byte of {@code v}, byte 0's in bit 0. */
    public static long byteSigns(long v) {
        return (((v >>> 7) & 0x0101010101010101L) * 0x0102040810204080L) >>> 56;
    }
}
