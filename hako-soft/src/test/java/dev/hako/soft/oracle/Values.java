package dev.hako.soft.oracle;

import dev.hako.soft.oracle.InstructionCase.RegisterValue;
import java.util.Random;

/**
 * Random operand values biased towards the edges where arithmetic goes wrong (0, 1, -1, the sign
 * boundaries of every width, small numbers), and the register pickers cases constrain inputs with.
 */
final class Values {
    private static final long[] EDGES = {
        0, 1, 2, -1, -2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFFL, 0x8000_0000L, 0xFFFF_FFFFL,
        Long.MAX_VALUE, Long.MIN_VALUE, 0x7E, 0x81, 0xFE, 0x100, 0x7FFE, 0x8001, 0xFFFE, 0x1_0000, 0x8000_0001L,
        0x7FFF_FFFEL, 0xFFFF_FFFEL, 0x1_0000_0000L, Long.MIN_VALUE + 1, Long.MAX_VALUE - 1,
    };
    private static final int[] WIDTHS = {8, 16, 32, 64};

    private Values() {}

    /** A 64-bit value: a quarter each fully random, an edge value, an edge value in the low bits of a
     *  random width over random upper bits (so narrow operations must merge), and a small number. */
    static long edgeBiased(Random rnd) {
        return switch (rnd.nextInt(4)) {
            case 0 -> rnd.nextLong();
            case 1 -> EDGES[rnd.nextInt(EDGES.length)];
            case 2 -> {
                int width = WIDTHS[rnd.nextInt(3)];
                long low = EDGES[rnd.nextInt(EDGES.length)] & ((1L << width) - 1);
                yield (rnd.nextLong() & (-1L << width)) | low;
            }
            default -> {
                long small = rnd.nextInt(18);
                yield rnd.nextBoolean() ? small : -small;
            }
        };
    }

    static RegisterValue edge() {
        return (rnd, s) -> edgeBiased(rnd);
    }

    /** Uniform in [lo, hi]. */
    static RegisterValue range(long lo, long hi) {
        return (rnd, s) -> lo + (long) (rnd.nextDouble() * (hi - lo + 1));
    }

    /** Edge-biased, but never zero in the low {@code bytes} bytes. */
    static RegisterValue nonZero(int bytes) {
        long mask = bytes == 8 ? -1L : (1L << (8 * bytes)) - 1;
        return (rnd, s) -> {
            long v;
            do {
                v = edgeBiased(rnd);
            } while ((v & mask) == 0);
            return v;
        };
    }

    /** Random upper bits over low {@code bits} bits chosen by {@code low}. */
    static RegisterValue lowBits(int bits, RegisterValue low) {
        long mask = bits == 64 ? -1L : (1L << bits) - 1;
        return (rnd, s) -> (rnd.nextLong() & ~mask) | (low.pick(rnd, s) & mask);
    }

    /**
     * An address in the data pages at least {@code margin} bytes from either end, aligned to {@code align};
     * for implicit memory operands (stack, string instructions).
     */
    static RegisterValue pointer(int margin, int align) {
        return (rnd, s) -> {
            long span = MachineState.DATA_SIZE - 2L * margin;
            long a = s.dataAddress + margin + (long) (rnd.nextDouble() * span);
            return a & -(long) align;
        };
    }
}
