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
 * Instructions that move elements across the register (SDM vol. 1 9.4.6, 10.4.4, 11.4.4): interleaves
 * (PUNPCK*, UNPCK*PS/PD), saturating packs, PSHUFD/PSHUFLW/PSHUFHW, SHUFPS/SHUFPD, PEXTRW/PINSRW, and the
 * MMX forms of the interleaves, packs, PSHUFW and PEXTRW/PINSRW (no prefix). An XMM register is handled as
 * a 128-bit value in two longs; element k of width w bits is bits [k*w, (k+1)*w). Both widths share the
 * 64-bit building blocks: interleaving half of two quadwords, packing two quadwords into one, shuffling
 * the words of one quadword.
 */
public final class SseShuffle {
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
            int sub = (int) row[2] | ((int) row[3] << 4);
            t.add(MAP_0F, (int) row[0], P66, ANY, (String) row[1], MODRM, IMM_NONE, sub, SseShuffle::unpack);
            if ((int) row[2] < 8) { // no quadword interleave on MMX
                t.add(MAP_0F, (int) row[0], NP, ANY, (String) row[1], MODRM, IMM_NONE, sub, SseShuffle::unpackMmx);
            }
        }
        t.add(MAP_0F, 0x14, NP, ANY, "unpcklps", MODRM, IMM_NONE, 4, SseShuffle::unpack);
        t.add(MAP_0F, 0x15, NP, ANY, "unpckhps", MODRM, IMM_NONE, 4 | (HIGH << 4), SseShuffle::unpack);
        t.add(MAP_0F, 0x14, P66, ANY, "unpcklpd", MODRM, IMM_NONE, 8, SseShuffle::unpack);
        t.add(MAP_0F, 0x15, P66, ANY, "unpckhpd", MODRM, IMM_NONE, 8 | (HIGH << 4), SseShuffle::unpack);

        Object[][] packs = {
                {0x63, "packsswb", PACK_SSWB}, {0x6B, "packssdw", PACK_SSDW}, {0x67, "packuswb", PACK_USWB},
        };
        for (Object[] row : packs) {
            t.add(MAP_0F, (int) row[0], P66, ANY, (String) row[1], MODRM, IMM_NONE, (int) row[2], SseShuffle::pack);
            t.add(MAP_0F, (int) row[0], NP, ANY, (String) row[1], MODRM, IMM_NONE, (int) row[2], SseShuffle::packMmx);
        }

        t.add(MAP_0F, 0x70, P66, ANY, "pshufd", MODRM, IB_UNSIGNED, 0, SseShuffle::pshufd);
        t.add(MAP_0F, 0x70, PF2, ANY, "pshuflw", MODRM, IB_UNSIGNED, LOW, SseShuffle::pshufw);
        t.add(MAP_0F, 0x70, PF3, ANY, "pshufhw", MODRM, IB_UNSIGNED, HIGH, SseShuffle::pshufw);
        t.add(MAP_0F, 0xC6, NP, ANY, "shufps", MODRM, IB_UNSIGNED, 0, SseShuffle::shufps);
        t.add(MAP_0F, 0xC6, P66, ANY, "shufpd", MODRM, IB_UNSIGNED, 0, SseShuffle::shufpd);
        t.add(MAP_0F, 0xC5, P66, ANY, "pextrw", MODRM | REG_ONLY, IB_UNSIGNED, 0, SseShuffle::pextrw);
        t.add(MAP_0F, 0xC4, P66, ANY, "pinsrw", MODRM, IB_UNSIGNED, 0, SseShuffle::pinsrw);
        t.add(MAP_0F, 0x70, NP, ANY, "pshufw", MODRM, IB_UNSIGNED, 0, SseShuffle::pshufwMmx);
        t.add(MAP_0F, 0xC5, NP, ANY, "pextrw", MODRM | REG_ONLY, IB_UNSIGNED, 0, SseShuffle::pextrwMmx);
        t.add(MAP_0F, 0xC4, NP, ANY, "pinsrw", MODRM, IB_UNSIGNED, 0, SseShuffle::pinsrwMmx);
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
        int bits = (i.sub & 15) * 8;
        boolean high = (i.sub >>> 4) == HIGH;
        long a = high ? c.xmm[d + 1] : c.xmm[d];
        long b = high ? shi : slo;
        if (bits == 64) {
            Xmm.set(c, i.reg, a, b);
        } else {
            Xmm.set(c, i.reg, interleave(a, b, bits, false), interleave(a, b, bits, true));
        }
    }

    /** PUNPCKL* mm, mm/m32 and PUNPCKH* mm, mm/m64. */
    static void unpackMmx(Cpu c, Insn i) {
        Mmx.check(c);
        boolean high = (i.sub >>> 4) == HIGH;
        long b = high ? Mmx.src(c, i) : Mmx.src32(c, i);
        Mmx.set(c, i.reg, interleave(Mmx.get(c, i.reg), b, (i.sub & 15) * 8, high));
    }

    /**
     * The elements of {@code bits} in the low (or, with {@code upper}, the high) 32 bits of {@code a} and
     * {@code b}, interleaved into 64 bits: a's element first. (Translated PUNPCK* call it too.)
     */
    public static long interleave(long a, long b, int bits, boolean upper) {
        int from = upper ? 32 : 0;
        long mask = (1L << bits) - 1;
        long result = 0;
        for (int k = 0; k < 32 / bits; k++) {
            long x = (a >>> (from + k * bits)) & mask;
            long y = (b >>> (from + k * bits)) & mask;
            result |= x << (2 * k * bits) | y << ((2 * k + 1) * bits);
        }
        return result;
    }

    /** Packs destination then source elements with saturation into elements of half the width. */
    static void pack(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        int d = 2 * i.reg;
        Xmm.set(c, i.reg, packed(c.xmm[d], c.xmm[d + 1], i.sub), packed(slo, shi, i.sub));
    }

    static void packMmx(Cpu c, Insn i) {
        Mmx.check(c);
        long b = Mmx.src(c, i);
        Mmx.set(c, i.reg, packed(Mmx.get(c, i.reg), b, i.sub));
    }

    /** The elements of {@code a}, then those of {@code b}, saturated into half their width: 64 bits. */
    private static long packed(long a, long b, int kind) {
        int from = kind == PACK_SSDW ? 32 : 16;
        int to = from / 2;
        int n = 64 / from;
        long result = 0;
        for (int k = 0; k < 2 * n; k++) {
            long raw = ((k < n ? a : b) >>> ((k % n) * from));
            long v = (raw << (64 - from)) >> (64 - from);
            long saturated = kind == PACK_USWB ? Math.clamp(v, 0, 255)
                    : Math.clamp(v, -(1L << (to - 1)), (1L << (to - 1)) - 1);
            result |= (saturated & ((1L << to) - 1)) << (k * to);
        }
        return result;
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
        if (i.sub == LOW) {
            Xmm.set(c, i.reg, shuffledWords(slo, (int) i.imm), shi);
        } else {
            Xmm.set(c, i.reg, slo, shuffledWords(shi, (int) i.imm));
        }
    }

    /** PSHUFW mm, mm/m64, imm8. */
    static void pshufwMmx(Cpu c, Insn i) {
        Mmx.check(c);
        Mmx.set(c, i.reg, shuffledWords(Mmx.src(c, i), (int) i.imm));
    }

    /** Word k of the result is the word of {@code half} that imm8's field k (2 bits) names. */
    private static long shuffledWords(long half, int order) {
        long shuffled = 0;
        for (int k = 0; k < 4; k++) {
            shuffled |= ((half >>> (16 * ((order >>> (2 * k)) & 3))) & 0xFFFF) << (16 * k);
        }
        return shuffled;
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
        c.xmm[at] = withWord(c.xmm[at], k & 3, word);
    }

    /** PEXTRW r32, mm, imm8. */
    static void pextrwMmx(Cpu c, Insn i) {
        Mmx.check(c);
        c.setReg(i.reg, 8, (Mmx.get(c, i.rm) >>> (16 * (i.imm & 3))) & 0xFFFF);
        Mmx.touched(c);
    }

    /** PINSRW mm, r32/m16, imm8. */
    static void pinsrwMmx(Cpu c, Insn i) {
        Mmx.check(c);
        long word = i.rmIsReg ? c.getReg(i.rm, 2) : c.mem.read16(c.ea(i));
        Mmx.set(c, i.reg, withWord(Mmx.get(c, i.reg), (int) i.imm & 3, word));
    }

    /** {@code quad} with its word {@code k} (0..3) replaced. */
    private static long withWord(long quad, int k, long word) {
        int shift = 16 * k;
        return (quad & ~(0xFFFFL << shift)) | (word << shift);
    }
}
