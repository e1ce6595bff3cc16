package dev.hako.soft.oracle;

import java.util.Random;

/**
 * Random x87 inputs: an FCW with every precision and rounding control (exceptions masked), a stack of a
 * chosen depth filled with special and boundary values, and memory operands in each format.
 */
final class X87Inputs {
    static final int M32 = 0, M64 = 1, M80 = 2, I16 = 3, I32 = 4, I64 = 5, NONE = 6;
    private static final int[] PRECISIONS = {0, 2, 3};

    private X87Inputs() {}

    /** An extended value: zeros, infinities, NaNs, denormals, extremes, rounding boundaries, ordinary values. */
    static long[] extended(Random rnd) {
        int sign = rnd.nextBoolean() ? 0x8000 : 0;
        long sig = rnd.nextLong() | Long.MIN_VALUE;
        int exp = 0x3FFF + rnd.nextInt(129) - 64;
        switch (rnd.nextInt(24)) {
            case 0 -> { exp = 0; sig = 0; }
            case 1 -> { exp = 0x7FFF; sig = Long.MIN_VALUE; }
            case 2 -> { exp = 0x7FFF; sig |= 0x4000000000000000L; }
            case 3 -> { exp = 0x7FFF; sig = (sig & ~0x4000000000000000L) | 1; }
            case 4 -> { exp = 0; sig >>>= 1 + rnd.nextInt(63); }
            case 5 -> exp = 1 + rnd.nextInt(70);
            case 6 -> exp = 0x7FFE - rnd.nextInt(70);
            case 7 -> sig = (sig & ~0x7FFL) | 0x400; // halfway for 53 bits
            case 8 -> sig = (sig & ~0xFFFFFFFFFFL) | 0x8000000000L; // halfway for 24 bits
            case 9 -> sig = -1L << rnd.nextInt(64);
            case 10 -> { exp = 0x3FFF + rnd.nextInt(64); sig = (sig >>> (63 - (exp - 0x3FFF))) << (63 - (exp - 0x3FFF)); }
            case 11 -> exp = 0x3FFF + rnd.nextInt(8) - 4;
            case 12 -> exp = 0x3FFF - 16382 + 1022 + rnd.nextInt(60) - 30; // near the double range's bottom
            case 13 -> exp = 0x3FFF + 1023 + rnd.nextInt(6) - 3;
            case 14 -> exp = 0x3FFF - 126 + rnd.nextInt(60) - 40;
            default -> { }
        }
        return new long[] {sign | exp, sig};
    }

    /** A random FCW: exceptions masked, any precision and rounding control. */
    static int controlWord(Random rnd) {
        return 0x3F | 0x40 | (PRECISIONS[rnd.nextInt(3)] << 8) | (rnd.nextInt(4) << 10);
    }

    /** Sets FCW and ST(0)..ST(depth-1) valid with random values; the rest empty (TOP random). */
    static InstructionCase.Adjuster stack(int depth) {
        return (s, rnd, insn) -> {
            int top = rnd.nextInt(8);
            int tags = 0;
            for (int i = 0; i < depth; i++) {
                long[] v = extended(rnd);
                FxsaveImage.setSt(s.fxsave, i, v[1], (int) v[0]);
                tags |= 1 << ((top + i) & 7);
            }
            FxsaveImage.setControl(s.fxsave, controlWord(rnd), top << 11, tags, FxsaveImage.mxcsr(s.fxsave));
        };
    }

    /** Writes a memory operand of {@code format} at the instruction's ModRM address. */
    static InstructionCase.Adjuster memory(byte[] bytes, int format) {
        return (s, rnd, insn) -> {
            MemoryOperand m = MemoryOperand.of(bytes).orElseThrow();
            long ea = m.address(s.gpr, insn + bytes.length);
            long[] v = extended(rnd);
            switch (format) {
                case M32 -> s.write(ea, 4, Float.floatToRawIntBits(binary32(v, rnd)));
                case M64 -> s.write(ea, 8, binary64(v, rnd));
                case M80 -> {
                    s.write(ea, 8, v[1]);
                    s.write(ea + 8, 2, v[0]);
                }
                case I16 -> s.write(ea, 2, integer(rnd, 16));
                case I32 -> s.write(ea, 4, integer(rnd, 32));
                case I64 -> s.write(ea, 8, integer(rnd, 64));
                default -> { }
            }
        };
    }

    private static float binary32(long[] v, Random rnd) {
        return switch (rnd.nextInt(6)) {
            case 0 -> Float.intBitsToFloat(rnd.nextInt(0x800000) | (rnd.nextBoolean() ? 0x80000000 : 0));
            case 1 -> Float.intBitsToFloat(0x7F800001 + rnd.nextInt(0x7FFFFF)); // NaNs, signaling and quiet
            case 2 -> rnd.nextBoolean() ? Float.POSITIVE_INFINITY : -0.0f;
            default -> Float.intBitsToFloat(rnd.nextInt());
        };
    }

    private static long binary64(long[] v, Random rnd) {
        return switch (rnd.nextInt(6)) {
            case 0 -> (rnd.nextLong() >>> 12) | (rnd.nextBoolean() ? Long.MIN_VALUE : 0);
            case 1 -> 0x7FF0000000000001L + (rnd.nextLong() >>> 13);
            case 2 -> rnd.nextBoolean() ? 0x7FF0000000000000L : Long.MIN_VALUE;
            default -> rnd.nextLong();
        };
    }

    private static long integer(Random rnd, int bits) {
        return switch (rnd.nextInt(4)) {
            case 0 -> 1L << (bits - 1);
            case 1 -> rnd.nextInt(2001) - 1000;
            default -> rnd.nextLong();
        };
    }
}
