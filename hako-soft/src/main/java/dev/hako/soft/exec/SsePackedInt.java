package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.IB_UNSIGNED;
import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpSpec.MODRM;
import static dev.hako.soft.decode.OpSpec.REG_ONLY;
import static dev.hako.soft.decode.OpcodeTable.ANY;
import static dev.hako.soft.decode.OpcodeTable.MAP_0F;
import static dev.hako.soft.decode.OpcodeTable.NP;
import static dev.hako.soft.decode.OpcodeTable.P66;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;

/**
 * SSE2 128-bit integer arithmetic, comparison, logic and shifts (SDM vol. 1 11.4.3), and the bitwise
 * ANDPS/ANDNPS/ORPS/XORPS family, which is the same operation. Every one of these works within each 64-bit
 * half, so one handler runs an element operation over both halves; {@code sub} packs the operation and
 * the element width in bytes.
 */
final class SsePackedInt {
    // Element operations.
    static final int ADD = 0, SUB = 1, ADDS = 2, SUBS = 3, ADDUS = 4, SUBUS = 5, MULLO = 6, MULHI = 7,
            MULHU = 8, AVG = 9, MAXU = 10, MINU = 11, MAXS = 12, MINS = 13, CMPEQ = 14, CMPGT = 15, AND = 16,
            ANDN = 17, OR = 18, XOR = 19, MULUDQ = 20, MADDWD = 21, SADBW = 22;
    // Shift kinds.
    static final int SLL = 0, SRL = 1, SRA = 2;

    /** Rows: opcode (66 0F xx), mnemonic, operation, element width in bytes. */
    static final Object[][] OPS = {
            {0xFC, "paddb", ADD, 1}, {0xFD, "paddw", ADD, 2}, {0xFE, "paddd", ADD, 4}, {0xD4, "paddq", ADD, 8},
            {0xF8, "psubb", SUB, 1}, {0xF9, "psubw", SUB, 2}, {0xFA, "psubd", SUB, 4}, {0xFB, "psubq", SUB, 8},
            {0xEC, "paddsb", ADDS, 1}, {0xED, "paddsw", ADDS, 2}, {0xE8, "psubsb", SUBS, 1},
            {0xE9, "psubsw", SUBS, 2}, {0xDC, "paddusb", ADDUS, 1}, {0xDD, "paddusw", ADDUS, 2},
            {0xD8, "psubusb", SUBUS, 1}, {0xD9, "psubusw", SUBUS, 2},
            {0xD5, "pmullw", MULLO, 2}, {0xE5, "pmulhw", MULHI, 2}, {0xE4, "pmulhuw", MULHU, 2},
            {0xF4, "pmuludq", MULUDQ, 8}, {0xF5, "pmaddwd", MADDWD, 4}, {0xF6, "psadbw", SADBW, 8},
            {0xE0, "pavgb", AVG, 1}, {0xE3, "pavgw", AVG, 2},
            {0xDE, "pmaxub", MAXU, 1}, {0xDA, "pminub", MINU, 1}, {0xEE, "pmaxsw", MAXS, 2},
            {0xEA, "pminsw", MINS, 2},
            {0x74, "pcmpeqb", CMPEQ, 1}, {0x75, "pcmpeqw", CMPEQ, 2}, {0x76, "pcmpeqd", CMPEQ, 4},
            {0x64, "pcmpgtb", CMPGT, 1}, {0x65, "pcmpgtw", CMPGT, 2}, {0x66, "pcmpgtd", CMPGT, 4},
            {0xDB, "pand", AND, 8}, {0xDF, "pandn", ANDN, 8}, {0xEB, "por", OR, 8}, {0xEF, "pxor", XOR, 8},
    };

    /** Rows: opcode, mnemonic, shift kind, element width; the by-xmm forms (66 0F xx). */
    static final Object[][] SHIFTS = {
            {0xF1, "psllw", SLL, 2}, {0xF2, "pslld", SLL, 4}, {0xF3, "psllq", SLL, 8},
            {0xD1, "psrlw", SRL, 2}, {0xD2, "psrld", SRL, 4}, {0xD3, "psrlq", SRL, 8},
            {0xE1, "psraw", SRA, 2}, {0xE2, "psrad", SRA, 4},
    };

    /** Rows: opcode, ModRM.reg, mnemonic, shift kind, width; the by-immediate groups 66 0F 71/72/73. */
    static final Object[][] IMM_SHIFTS = {
            {0x71, 2, "psrlw", SRL, 2}, {0x71, 4, "psraw", SRA, 2}, {0x71, 6, "psllw", SLL, 2},
            {0x72, 2, "psrld", SRL, 4}, {0x72, 4, "psrad", SRA, 4}, {0x72, 6, "pslld", SLL, 4},
            {0x73, 2, "psrlq", SRL, 8}, {0x73, 6, "psllq", SLL, 8},
    };

    private SsePackedInt() {}

    static int sub(int op, int width) {
        return (op << 4) | width;
    }

    static void register(OpcodeTable t) {
        for (Object[] row : OPS) {
            t.add(MAP_0F, (int) row[0], P66, ANY, (String) row[1], MODRM, IMM_NONE, sub((int) row[2], (int) row[3]),
                    SsePackedInt::packed);
        }
        String[][] logicNames = {{"andps", "andpd"}, {"andnps", "andnpd"}, {"orps", "orpd"}, {"xorps", "xorpd"}};
        int[] logicOps = {AND, ANDN, OR, XOR};
        for (int k = 0; k < 4; k++) {
            t.add(MAP_0F, 0x54 + k, NP, ANY, logicNames[k][0], MODRM, IMM_NONE, sub(logicOps[k], 8),
                    SsePackedInt::packed);
            t.add(MAP_0F, 0x54 + k, P66, ANY, logicNames[k][1], MODRM, IMM_NONE, sub(logicOps[k], 8),
                    SsePackedInt::packed);
        }
        for (Object[] row : SHIFTS) {
            t.add(MAP_0F, (int) row[0], P66, ANY, (String) row[1], MODRM, IMM_NONE, sub((int) row[2], (int) row[3]),
                    SsePackedInt::shiftByXmm);
        }
        for (Object[] row : IMM_SHIFTS) {
            t.add(MAP_0F, (int) row[0], P66, (int) row[1], (String) row[2], MODRM | REG_ONLY, IB_UNSIGNED,
                    sub((int) row[3], (int) row[4]), SsePackedInt::shiftByImm);
        }
        t.add(MAP_0F, 0x73, P66, 3, "psrldq", MODRM | REG_ONLY, IB_UNSIGNED, SRL, SsePackedInt::byteShift);
        t.add(MAP_0F, 0x73, P66, 7, "pslldq", MODRM | REG_ONLY, IB_UNSIGNED, SLL, SsePackedInt::byteShift);
    }

    static void packed(Cpu c, Insn i) {
        long lo = Xmm.srcLo(c, i);
        long hi = Xmm.srcHi(c, i);
        int op = i.sub >>> 4;
        int width = i.sub & 15;
        int d = 2 * i.reg;
        c.xmm[d] = lane(op, width, c.xmm[d], lo);
        c.xmm[d + 1] = lane(op, width, c.xmm[d + 1], hi);
    }

    /** Applies an element operation to each element of one 64-bit half. */
    static long lane(int op, int width, long a, long b) {
        if (width == 8) {
            return element(op, 64, a, b);
        }
        int bits = width * 8;
        long mask = (1L << bits) - 1;
        long result = 0;
        for (int shift = 0; shift < 64; shift += bits) {
            long x = (a >>> shift) & mask;
            long y = (b >>> shift) & mask;
            result |= (element(op, bits, x, y) & mask) << shift;
        }
        return result;
    }

    /** One element: {@code x} and {@code y} are zero-extended from {@code bits}. */
    private static long element(int op, int bits, long x, long y) {
        int unused = 64 - bits;
        long sx = (x << unused) >> unused;
        long sy = (y << unused) >> unused;
        long max = (1L << (bits - 1)) - 1;
        return switch (op) {
            case ADD -> x + y;
            case SUB -> x - y;
            case ADDS -> Math.clamp(sx + sy, -max - 1, max);
            case SUBS -> Math.clamp(sx - sy, -max - 1, max);
            case ADDUS -> Math.min(x + y, (1L << bits) - 1);
            case SUBUS -> Math.max(x - y, 0);
            case MULLO -> sx * sy;
            case MULHI -> (sx * sy) >> 16;
            case MULHU -> (x * y) >>> 16;
            case AVG -> (x + y + 1) >>> 1;
            case MAXU -> Math.max(x, y);
            case MINU -> Math.min(x, y);
            case MAXS -> Math.max(sx, sy);
            case MINS -> Math.min(sx, sy);
            case CMPEQ -> x == y ? -1 : 0;
            case CMPGT -> sx > sy ? -1 : 0;
            case AND -> x & y;
            case ANDN -> ~x & y;
            case OR -> x | y;
            case XOR -> x ^ y;
            case MULUDQ -> (x & Xmm.LOW32) * (y & Xmm.LOW32);
            case MADDWD -> (long) (short) x * (short) y + (long) (short) (x >>> 16) * (short) (y >>> 16);
            case SADBW -> sumOfAbsoluteDifferences(x, y);
            default -> throw new IllegalStateException("element operation " + op);
        };
    }

    private static long sumOfAbsoluteDifferences(long x, long y) {
        long sum = 0;
        for (int shift = 0; shift < 64; shift += 8) {
            sum += Math.abs(((x >>> shift) & 0xFF) - ((y >>> shift) & 0xFF));
        }
        return sum;
    }

    static void shiftByXmm(Cpu c, Insn i) {
        long count = Xmm.srcLo(c, i);
        shift(c, i.reg, i.sub >>> 4, i.sub & 15, count);
    }

    static void shiftByImm(Cpu c, Insn i) {
        shift(c, i.rm, i.sub >>> 4, i.sub & 15, i.imm & 0xFF);
    }

    /** Shifts each element of a register. */
    private static void shift(Cpu c, int reg, int kind, int width, long count) {
        int d = 2 * reg;
        c.xmm[d] = shifted(c.xmm[d], kind, width * 8, count);
        c.xmm[d + 1] = shifted(c.xmm[d + 1], kind, width * 8, count);
    }

    /**
     * Each {@code bits}-wide element of {@code v} shifted by the unsigned {@code count}; counts beyond the
     * width give 0, or the sign for SRA.
     */
    static long shifted(long v, int kind, int bits, long count) {
        boolean beyond = Long.compareUnsigned(count, bits - 1) > 0;
        if (beyond && kind != SRA) {
            return 0;
        }
        int n = beyond ? bits - 1 : (int) count;
        if (bits == 64) {
            return kind == SLL ? v << n : kind == SRL ? v >>> n : v >> n;
        }
        long mask = (1L << bits) - 1;
        int unused = 64 - bits;
        long result = 0;
        for (int at = 0; at < 64; at += bits) {
            long e = (v >>> at) & mask;
            long r = switch (kind) {
                case SLL -> e << n;
                case SRL -> e >>> n;
                default -> ((e << unused) >> unused) >> n;
            };
            result |= (r & mask) << at;
        }
        return result;
    }

    /** PSLLDQ/PSRLDQ: the whole register by bytes; counts above 15 clear it. */
    static void byteShift(Cpu c, Insn i) {
        int d = 2 * i.rm;
        long lo = c.xmm[d], hi = c.xmm[d + 1];
        int bits = (int) Math.min(i.imm & 0xFF, 16) * 8;
        if (bits >= 128) {
            lo = 0;
            hi = 0;
        } else if (bits >= 64) {
            if (i.sub == SLL) {
                hi = lo << (bits - 64);
                lo = 0;
            } else {
                lo = hi >>> (bits - 64);
                hi = 0;
            }
        } else if (bits > 0) {
            if (i.sub == SLL) {
                hi = (hi << bits) | (lo >>> (64 - bits));
                lo <<= bits;
            } else {
                lo = (lo >>> bits) | (hi << (64 - bits));
                hi >>>= bits;
            }
        }
        Xmm.set(c, i.rm, lo, hi);
    }
}
