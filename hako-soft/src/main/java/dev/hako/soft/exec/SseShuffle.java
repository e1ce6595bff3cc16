package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.IB_UNSIGNED;
import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpSpec.MODRM;
import static dev.hako.soft.decode.OpSpec.REG_ONLY;
import static dev.hako.soft.decode.OpcodeTable.ANY;
import static dev.hako.soft.decode.OpcodeTable.MAP_0F;
import static dev.hako.soft.decode.OpcodeTable.NP;
import static dev.hako.soft.decode.OpcodeTable.P66;
import static dev.hako.soft.decode.OpcodeTable.PF2;
import static dev.hako.soft.decode.OpcodeTable.PF3;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;

/**
 * SSE/SSE2 instructions that move elements across the register (SDM vol. 1 10.4.4, 11.4.4): interleaves
 * (PUNPCK*, UNPCK*PS/PD), saturating packs, PSHUFD/PSHUFLW/PSHUFHW, SHUFPS/SHUFPD, PEXTRW/PINSRW. The
 * register is handled as a 128-bit value in two longs; element k of width w bits is bits [k*w, (k+1)*w).
 */
final class SseShuffle {
    private static final int LOW = 0, HIGH = 1;
    private static final int PACK_SSWB = 0, PACK_SSDW = 1, PACK_USWB = 2;

    private SseShuffle() {}

    static void register(OpcodeTable t) {
        // Rows: opcode, mnemonic, element width in bytes, which half; sub = width | half << 4.
        Object[][] unpacks = {
                {0x60, "punpcklbw", 1, LOW}, {0x61, "punpcklwd", 2, LOW}, {0x62, "punpckldq", 4, LOW},
                {0x6C, "punpcklqdq", 8, LOW}, {0x68, "punpckhbw", 1, HIGH}, {0x69, "punpckhwd", 2, HIGH},
                {0x6A, "punpckhdq", 4, HIGH}, {0x6D, "punpckhqdq", 8, HIGH},
        };
        for (Object[] row : unpacks) {
            t.add(MAP_0F, (int) row[0], P66, ANY, (String) row[1], MODRM, IMM_NONE,
                    (int) row[2] | ((int) row[3] << 4), SseShuffle::unpack);
        }
        t.add(MAP_0F, 0x14, NP, ANY, "unpcklps", MODRM, IMM_NONE, 4, SseShuffle::unpack);
        t.add(MAP_0F, 0x15, NP, ANY, "unpckhps", MODRM, IMM_NONE, 4 | (HIGH << 4), SseShuffle::unpack);
        t.add(MAP_0F, 0x14, P66, ANY, "unpcklpd", MODRM, IMM_NONE, 8, SseShuffle::unpack);
        t.add(MAP_0F, 0x15, P66, ANY, "unpckhpd", MODRM, IMM_NONE, 8 | (HIGH << 4), SseShuffle::unpack);

        t.add(MAP_0F, 0x63, P66, ANY, "packsswb", MODRM, IMM_NONE, PACK_SSWB, SseShuffle::pack);
        t.add(MAP_0F, 0x6B, P66, ANY, "packssdw", MODRM, IMM_NONE, PACK_SSDW, SseShuffle::pack);
        t.add(MAP_0F, 0x67, P66, ANY, "packuswb", MODRM, IMM_NONE, PACK_USWB, SseShuffle::pack);

        t.add(MAP_0F, 0x70, P66, ANY, "pshufd", MODRM, IB_UNSIGNED, 0, SseShuffle::pshufd);
        t.add(MAP_0F, 0x70, PF2, ANY, "pshuflw", MODRM, IB_UNSIGNED, LOW, SseShuffle::pshufw);
        t.add(MAP_0F, 0x70, PF3, ANY, "pshufhw", MODRM, IB_UNSIGNED, HIGH, SseShuffle::pshufw);
        t.add(MAP_0F, 0xC6, NP, ANY, "shufps", MODRM, IB_UNSIGNED, 0, SseShuffle::shufps);
        t.add(MAP_0F, 0xC6, P66, ANY, "shufpd", MODRM, IB_UNSIGNED, 0, SseShuffle::shufpd);
        t.add(MAP_0F, 0xC5, P66, ANY, "pextrw", MODRM | REG_ONLY, IB_UNSIGNED, 0, SseShuffle::pextrw);
        t.add(MAP_0F, 0xC4, P66, ANY, "pinsrw", MODRM, IB_UNSIGNED, 0, SseShuffle::pinsrw);
    }

    private static long get(long lo, long hi, int k, int bits) {
        int at = k * bits;
        long half = at < 64 ? lo : hi;
        return bits == 64 ? half : (half >>> (at & 63)) & ((1L << bits) - 1);
    }

    /** Interleaves the low (or high) halves' elements: destination's element first, then the source's. */
    static void unpack(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        int d = 2 * i.reg;
        long dlo = c.xmm[d], dhi = c.xmm[d + 1];
        int bits = (i.sub & 15) * 8;
        int n = 64 / bits; // elements taken from each operand
        int first = (i.sub >>> 4) == HIGH ? n : 0;
        long lo = 0, hi = 0;
        for (int k = 0; k < n; k++) {
            long a = get(dlo, dhi, first + k, bits);
            long b = get(slo, shi, first + k, bits);
            int at = 2 * k * bits;
            if (at < 64) {
                lo |= a << at | (bits == 64 ? 0 : b << (at + bits));
                if (bits == 64) {
                    hi = b;
                }
            } else {
                hi |= a << (at - 64) | b << (at - 64 + bits);
            }
        }
        Xmm.set(c, i.reg, lo, hi);
    }

    /** Packs destination then source elements with saturation into elements of half the width. */
    static void pack(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        int d = 2 * i.reg;
        long dlo = c.xmm[d], dhi = c.xmm[d + 1];
        int from = i.sub == PACK_SSDW ? 32 : 16;
        int to = from / 2;
        int n = 128 / from;
        long lo = 0, hi = 0;
        for (int k = 0; k < 2 * n; k++) {
            long raw = k < n ? get(dlo, dhi, k, from) : get(slo, shi, k - n, from);
            long v = (raw << (64 - from)) >> (64 - from);
            long packed = i.sub == PACK_USWB ? Math.clamp(v, 0, 255)
                    : Math.clamp(v, -(1L << (to - 1)), (1L << (to - 1)) - 1);
            long bits = (packed & ((1L << to) - 1));
            int at = k * to;
            if (at < 64) {
                lo |= bits << at;
            } else {
                hi |= bits << (at - 64);
            }
        }
        Xmm.set(c, i.reg, lo, hi);
    }

    static void pshufd(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        pick32(c, i, slo, shi, slo, shi);
    }

    /**
     * The four doublewords of the destination chosen by imm8's 2-bit fields: the low two from (alo, ahi),
     * the high two from (blo, bhi).
     */
    private static void pick32(Cpu c, Insn i, long alo, long ahi, long blo, long bhi) {
        int order = (int) i.imm;
        long lo = get(alo, ahi, order & 3, 32) | get(alo, ahi, (order >>> 2) & 3, 32) << 32;
        long hi = get(blo, bhi, (order >>> 4) & 3, 32) | get(blo, bhi, (order >>> 6) & 3, 32) << 32;
        Xmm.set(c, i.reg, lo, hi);
    }

    /** PSHUFLW/PSHUFHW: shuffles the words of one half, copies the other. */
    static void pshufw(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        long half = i.sub == LOW ? slo : shi;
        int order = (int) i.imm;
        long shuffled = 0;
        for (int k = 0; k < 4; k++) {
            shuffled |= ((half >>> (16 * ((order >>> (2 * k)) & 3))) & 0xFFFF) << (16 * k);
        }
        if (i.sub == LOW) {
            Xmm.set(c, i.reg, shuffled, shi);
        } else {
            Xmm.set(c, i.reg, slo, shuffled);
        }
    }

    /** SHUFPS: the low two results from the destination, the high two from the source. */
    static void shufps(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        int d = 2 * i.reg;
        pick32(c, i, c.xmm[d], c.xmm[d + 1], slo, shi);
    }

    static void shufpd(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        int d = 2 * i.reg;
        long lo = (i.imm & 1) == 0 ? c.xmm[d] : c.xmm[d + 1];
        long hi = (i.imm & 2) == 0 ? slo : shi;
        Xmm.set(c, i.reg, lo, hi);
    }

    /** PEXTRW r32, xmm, imm8: the word zero-extended into the general register. */
    static void pextrw(Cpu c, Insn i) {
        int k = (int) i.imm & 7;
        long word = (c.xmm[2 * i.rm + (k >>> 2)] >>> (16 * (k & 3))) & 0xFFFF;
        c.setReg(i.reg, 8, word);
    }

    /** PINSRW xmm, r32/m16, imm8. */
    static void pinsrw(Cpu c, Insn i) {
        int k = (int) i.imm & 7;
        long word = i.rmIsReg ? c.getReg(i.rm, 2) : c.mem.read16(c.ea(i));
        int at = 2 * i.reg + (k >>> 2);
        int shift = 16 * (k & 3);
        c.xmm[at] = (c.xmm[at] & ~(0xFFFFL << shift)) | (word << shift);
    }
}
