package dev.hako.soft.oracle;

import java.util.Random;

/**
 * Building blocks for the SSE differential tables: instruction encodings with XMM operands, random
 * floating-point lanes weighted towards the special values (signed zeros, denormals, the normal-range
 * edges, infinities, quiet and signalling NaNs, rounding ties), and a random MXCSR: any rounding mode,
 * DAZ, FTZ and sticky flags, with every exception masked (an unmasked one would kill the JVM on the host).
 */
final class SseCases {
    static final int SINGLE = 4, DOUBLE = 8, INTEGER = 0;

    /** Register forms and a spread of addressing modes (none RIP-relative). */
    static final Encoder.Rm[] MEMORY = {
        Encoder.MEMORY.get(0), Encoder.MEMORY.get(1), Encoder.MEMORY.get(2), Encoder.MEMORY.get(6),
        Encoder.MEMORY.get(7), Encoder.MEMORY.get(10),
    };

    /**
     * The packed-integer operations with MMX and XMM forms alike (0F xx and 66 0F xx, mm/m64 or xmm/m128
     * source): {opcode, mnemonic}. PUNPCKLQDQ and PUNPCKHQDQ, XMM only, are the last two.
     */
    static final String[][] PACKED_INTEGER = {
        {"fc", "paddb"}, {"fd", "paddw"}, {"fe", "paddd"}, {"d4", "paddq"}, {"f8", "psubb"}, {"f9", "psubw"},
        {"fa", "psubd"}, {"fb", "psubq"}, {"ec", "paddsb"}, {"ed", "paddsw"}, {"e8", "psubsb"}, {"e9", "psubsw"},
        {"dc", "paddusb"}, {"dd", "paddusw"}, {"d8", "psubusb"}, {"d9", "psubusw"}, {"d5", "pmullw"},
        {"e5", "pmulhw"}, {"e4", "pmulhuw"}, {"f4", "pmuludq"}, {"f5", "pmaddwd"}, {"f6", "psadbw"},
        {"e0", "pavgb"}, {"e3", "pavgw"}, {"de", "pmaxub"}, {"da", "pminub"}, {"ee", "pmaxsw"}, {"ea", "pminsw"},
        {"74", "pcmpeqb"}, {"75", "pcmpeqw"}, {"76", "pcmpeqd"}, {"64", "pcmpgtb"}, {"65", "pcmpgtw"},
        {"66", "pcmpgtd"}, {"db", "pand"}, {"df", "pandn"}, {"eb", "por"}, {"ef", "pxor"},
        {"60", "punpcklbw"}, {"61", "punpcklwd"}, {"62", "punpckldq"}, {"68", "punpckhbw"}, {"69", "punpckhwd"},
        {"6a", "punpckhdq"}, {"63", "packsswb"}, {"6b", "packssdw"}, {"67", "packuswb"},
        {"6c", "punpcklqdq"}, {"6d", "punpckhqdq"},
    };
    /** The shifts by a register or memory count: {opcode, mnemonic}. */
    static final String[][] SHIFTS_BY_REGISTER = {{"f1", "psllw"}, {"f2", "pslld"}, {"f3", "psllq"},
        {"d1", "psrlw"}, {"d2", "psrld"}, {"d3", "psrlq"}, {"e1", "psraw"}, {"e2", "psrad"}};
    /** The shifts by imm8 that MMX and XMM share: {opcode, ModRM.reg, mnemonic}. */
    static final Object[][] SHIFTS_BY_IMMEDIATE = {{"71", 2, "psrlw"}, {"71", 4, "psraw"}, {"71", 6, "psllw"},
        {"72", 2, "psrld"}, {"72", 4, "psrad"}, {"72", 6, "pslld"}, {"73", 2, "psrlq"}, {"73", 6, "psllq"}};
    /** Immediate shift counts around every element width. */
    static final int[] SHIFT_COUNTS = {0, 1, 3, 7, 8, 15, 16, 31, 32, 63, 64, 200};

    private SseCases() {}

    /** A shift count: a quarter edge-biased (huge, negative), the rest around the element widths. */
    static long shiftCount(Random rnd) {
        return switch (rnd.nextInt(4)) {
            case 0 -> Values.edgeBiased(rnd);
            default -> rnd.nextInt(70);
        };
    }

    /** {@code prefix 0F opcode /r} with XMM (or GPR) {@code reg}, r/m {@code rm}, REX.W when {@code wide}. */
    static String sse(String prefix, String opcode, int reg, Encoder.Rm rm, boolean wide, String imm) {
        return Encoder.encode(prefix, wide ? 8 : 4, "0f " + opcode, reg, rm, imm);
    }

    /** A random value for a floating-point lane of {@code size} bytes. */
    static long lane(Random rnd, int size) {
        boolean dbl = size == DOUBLE;
        int fraction = dbl ? 52 : 23;
        long expMax = dbl ? 0x7FF : 0xFF;
        long sign = rnd.nextBoolean() ? 1L << (fraction + (dbl ? 11 : 8)) : 0;
        long fracMask = (1L << fraction) - 1;
        long randomFraction = rnd.nextLong() & fracMask;
        long bias = expMax >> 1;
        long v = switch (rnd.nextInt(16)) {
            case 0 -> 0;
            case 1 -> randomFraction == 0 ? 1 : randomFraction >>> rnd.nextInt(fraction); // denormal
            case 2 -> (1L << fraction) | (rnd.nextInt(3) == 0 ? 0 : randomFraction >>> rnd.nextInt(fraction));
            case 3 -> ((expMax - 1) << fraction) | (fracMask - rnd.nextInt(4)); // near the largest
            case 4 -> expMax << fraction; // infinity
            case 5 -> (expMax << fraction) | (1L << (fraction - 1)) | (randomFraction >>> 1); // QNaN
            case 6 -> (expMax << fraction) | Math.max(1, randomFraction >>> 1); // SNaN
            case 7 -> ((bias + rnd.nextInt(4)) << fraction) | (rnd.nextBoolean() ? 0 : fracMask - rnd.nextInt(3));
            case 8 -> ((bias + rnd.nextInt(8)) << fraction) | (1L << (fraction - 1 - rnd.nextInt(4))); // halves
            case 9 -> ((bias - 1 - rnd.nextInt(4)) << fraction) | (randomFraction & ~((1L << 8) - 1)); // < 1
            case 10 -> ((bias + 20 + rnd.nextInt(45)) << fraction) | (randomFraction >>> rnd.nextInt(fraction));
            case 11 -> ((1 + rnd.nextInt(3)) << fraction) | randomFraction; // just above the normal range
            case 12 -> ((bias + 1 + rnd.nextInt(40)) << fraction) | (fracMask >>> rnd.nextInt(fraction));
            default -> ((1 + (long) (rnd.nextDouble() * (expMax - 1))) << fraction) | randomFraction;
        };
        return sign | v;
    }

    /** A 64-bit half of a register made of lanes of {@code size}. */
    static long half(Random rnd, int size) {
        if (size == DOUBLE) {
            return lane(rnd, DOUBLE);
        }
        return lane(rnd, SINGLE) | lane(rnd, SINGLE) << 32;
    }

    /** Fills every XMM register and the data pages with floating-point lanes of {@code size}. */
    static InstructionCase.Adjuster floatInputs(int size) {
        return (s, rnd, insnAddress) -> {
            for (int n = 0; n < 16; n++) {
                FxsaveImage.setXmm(s.fxsave, n, half(rnd, size), half(rnd, size));
            }
            for (int off = 0; off + 8 <= s.data.length; off += 8) {
                s.write(s.dataAddress + off, 8, half(rnd, size));
            }
        };
    }

    /** A random MXCSR with every exception masked. */
    static InstructionCase.Adjuster randomMxcsr() {
        return (s, rnd, insnAddress) -> {
            int mxcsr = 0x1F80 | (rnd.nextInt(4) << 13) | (rnd.nextInt(3) == 0 ? 0x40 : 0)
                    | (rnd.nextInt(3) == 0 ? 0x8000 : 0) | (rnd.nextBoolean() ? rnd.nextInt(64) : 0);
            FxsaveImage.setControl(s.fxsave, 0x037F, 0, 0, mxcsr);
        };
    }

    /** For an aligned form ({@code aligned}) with a memory operand, adds {@link #aligned}; returns {@code c}. */
    static InstructionCase alignedIfMemory(InstructionCase c, String hex, boolean aligned) {
        if (aligned && MemoryOperand.of(c.bytes).isPresent()) {
            c.adjust(aligned(hex));
        }
        return c;
    }

    /** Moves the memory operand down to a 16-byte boundary, as the aligned forms require. */
    static InstructionCase.Adjuster aligned(String hex) {
        byte[] code = java.util.HexFormat.of().parseHex(hex.replaceAll("\\s+", ""));
        return (s, rnd, insnAddress) -> {
            MemoryOperand m = MemoryOperand.of(code).orElseThrow();
            long ea = m.address(s.gpr, insnAddress + code.length);
            long misalignment = ea & 15;
            if (m.base() >= 0) {
                s.gpr[m.base()] -= misalignment;
            } else {
                s.gpr[m.index()] -= misalignment >> m.scale();
            }
        };
    }
}
