package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.IB_UNSIGNED;
import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpSpec.MEM_ONLY;
import static dev.hako.soft.decode.OpSpec.MODRM;
import static dev.hako.soft.decode.OpSpec.REG_ONLY;
import static dev.hako.soft.decode.OpcodeTable.ANY;
import static dev.hako.soft.decode.OpcodeTable.MAP_0F;
import static dev.hako.soft.decode.OpcodeTable.NP;
import static dev.hako.soft.decode.OpcodeTable.P66;
import static dev.hako.soft.decode.OpcodeTable.PF2;
import static dev.hako.soft.decode.OpcodeTable.PF3;
import static dev.hako.soft.exec.SoftFloat.DOUBLE;
import static dev.hako.soft.exec.SoftFloat.SINGLE;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;

/**
 * MMX technology (SDM vol. 1 ch. 9) and the SSE/SSE2 instructions on MMX registers (vol. 1 10.4.4, 11.6.5):
 * moves, the packed integer operations, shifts, packs and unpacks, PSHUFW, PINSRW/PEXTRW, PMOVMSKB,
 * MASKMOVQ, MOVQ2DQ/MOVDQ2Q, EMMS and the CVTPI2PS family. x86-64's baseline has them: glibc's dynamic loader
 * refuses libraries built for x86-64 (ISA level "baseline") on a CPU without MMX.
 *
 * <p>MM0-MM7 are the significands of x87 physical registers R0-R7 (9.5.1). Every instruction here first
 * takes a pending unmasked x87 exception (#MF), then, once its operands are read, sets TOP to 0 (vol. 3A
 * 12.2) and marks all registers valid (vol. 1 9.6.2), EMMS all empty; a write to an MMX register sets that
 * register's sign and exponent to all ones. CVTPI2PS and CVTPI2PD with a memory source touch no x87 state
 * (the manual says so for CVTPI2PD; an AMD EPYC does the same for both). ModRM's REX extensions do not
 * reach MMX registers. Not
 * implemented: CR0.EM and CR0.TS (#UD, #NM), which no other x87 or SSE instruction checks here either, and
 * the SSSE3 forms (SSSE3 is not advertised).
 */
final class Mmx {
    private static final int ALL_VALID = 0xFF;
    private static final int LOW = 0, HIGH = 1;
    private static final int PACK_SSWB = 0, PACK_SSDW = 1, PACK_USWB = 2;
    private static final int TRUNCATE = 1;

    private Mmx() {}

    static void register(OpcodeTable t) {
        t.add(MAP_0F, 0x6E, NP, ANY, "movd", MODRM, IMM_NONE, 0, Mmx::movdToMm);
        t.add(MAP_0F, 0x7E, NP, ANY, "movd", MODRM, IMM_NONE, 0, Mmx::movdFromMm);
        t.add(MAP_0F, 0x6F, NP, ANY, "movq", MODRM, IMM_NONE, 0, Mmx::movqLoad);
        t.add(MAP_0F, 0x7F, NP, ANY, "movq", MODRM, IMM_NONE, 0, Mmx::movqStore);
        t.add(MAP_0F, 0xE7, NP, ANY, "movntq", MODRM | MEM_ONLY, IMM_NONE, 0, Mmx::movqStore);
        t.add(MAP_0F, 0xD6, PF3, ANY, "movq2dq", MODRM | REG_ONLY, IMM_NONE, 0, Mmx::movq2dq);
        t.add(MAP_0F, 0xD6, PF2, ANY, "movdq2q", MODRM | REG_ONLY, IMM_NONE, 0, Mmx::movdq2q);
        t.op(MAP_0F, 0x77, "emms", 0, IMM_NONE, 0, Mmx::emms);
        for (Object[] row : SsePackedInt.OPS) {
            t.add(MAP_0F, (int) row[0], NP, ANY, (String) row[1], MODRM, IMM_NONE,
                    SsePackedInt.sub((int) row[2], (int) row[3]), Mmx::packed);
        }
        for (Object[] row : SsePackedInt.SHIFTS) {
            t.add(MAP_0F, (int) row[0], NP, ANY, (String) row[1], MODRM, IMM_NONE,
                    SsePackedInt.sub((int) row[2], (int) row[3]), Mmx::shiftByMm);
        }
        for (Object[] row : SsePackedInt.IMM_SHIFTS) {
            t.add(MAP_0F, (int) row[0], NP, (int) row[1], (String) row[2], MODRM | REG_ONLY, IB_UNSIGNED,
                    SsePackedInt.sub((int) row[3], (int) row[4]), Mmx::shiftByImm);
        }
        // Rows: opcode, mnemonic, element width in bytes, which half; sub = width | half << 4.
        Object[][] unpacks = {
                {0x60, "punpcklbw", 1, LOW}, {0x61, "punpcklwd", 2, LOW}, {0x62, "punpckldq", 4, LOW},
                {0x68, "punpckhbw", 1, HIGH}, {0x69, "punpckhwd", 2, HIGH}, {0x6A, "punpckhdq", 4, HIGH},
        };
        for (Object[] row : unpacks) {
            t.add(MAP_0F, (int) row[0], NP, ANY, (String) row[1], MODRM, IMM_NONE,
                    (int) row[2] | ((int) row[3] << 4), Mmx::unpack);
        }
        t.add(MAP_0F, 0x63, NP, ANY, "packsswb", MODRM, IMM_NONE, PACK_SSWB, Mmx::pack);
        t.add(MAP_0F, 0x6B, NP, ANY, "packssdw", MODRM, IMM_NONE, PACK_SSDW, Mmx::pack);
        t.add(MAP_0F, 0x67, NP, ANY, "packuswb", MODRM, IMM_NONE, PACK_USWB, Mmx::pack);
        t.add(MAP_0F, 0x70, NP, ANY, "pshufw", MODRM, IB_UNSIGNED, 0, Mmx::pshufw);
        t.add(MAP_0F, 0xC4, NP, ANY, "pinsrw", MODRM, IB_UNSIGNED, 0, Mmx::pinsrw);
        t.add(MAP_0F, 0xC5, NP, ANY, "pextrw", MODRM | REG_ONLY, IB_UNSIGNED, 0, Mmx::pextrw);
        t.add(MAP_0F, 0xD7, NP, ANY, "pmovmskb", MODRM | REG_ONLY, IMM_NONE, 0, Mmx::pmovmskb);
        t.add(MAP_0F, 0xF7, NP, ANY, "maskmovq", MODRM | REG_ONLY, IMM_NONE, 0, Mmx::maskmovq);

        t.add(MAP_0F, 0x2A, NP, ANY, "cvtpi2ps", MODRM, IMM_NONE, 0, Mmx::cvtpi2ps);
        t.add(MAP_0F, 0x2A, P66, ANY, "cvtpi2pd", MODRM, IMM_NONE, 0, Mmx::cvtpi2pd);
        t.add(MAP_0F, 0x2D, NP, ANY, "cvtps2pi", MODRM, IMM_NONE, 0, Mmx::cvtps2pi);
        t.add(MAP_0F, 0x2C, NP, ANY, "cvttps2pi", MODRM, IMM_NONE, TRUNCATE, Mmx::cvtps2pi);
        t.add(MAP_0F, 0x2D, P66, ANY, "cvtpd2pi", MODRM, IMM_NONE, 0, Mmx::cvtpd2pi);
        t.add(MAP_0F, 0x2C, P66, ANY, "cvttpd2pi", MODRM, IMM_NONE, TRUNCATE, Mmx::cvtpd2pi);
    }

    // ---- the register file and the x87 transition ----

    /** MMn: the significand of x87 physical register n (not ST(n)). */
    static long get(Cpu c, int n) {
        return c.fpu.significand[n & 7];
    }

    /** Writes MMn; its sign and exponent become all ones. */
    static void set(Cpu c, int n, long value) {
        c.fpu.significand[n & 7] = value;
        c.fpu.signExponent[n & 7] = 0xFFFF;
    }

    /** The x87-to-MMX transition: TOP 0, every register valid. */
    static void enter(Cpu c) {
        c.fpu.top = 0;
        c.fpu.tags = ALL_VALID;
    }

    /** The mm/m64 source of an MMX instruction (after the pending-exception check). */
    private static long source(Cpu c, Insn i) {
        X87Operands.checkPending(c);
        return i.rmIsReg ? get(c, i.rm) : c.mem.read64(c.ea(i));
    }

    /** Writes the MMX destination {@code n} of an instruction whose sources are read. */
    private static void result(Cpu c, int n, long value) {
        enter(c);
        set(c, n, value);
    }

    // ---- moves ----

    /** MOVD mm, r/m32 (zero-extended) and, with REX.W, MOVQ mm, r/m64. */
    static void movdToMm(Cpu c, Insn i) {
        X87Operands.checkPending(c);
        result(c, i.reg, c.readRm(i));
    }

    /** MOVD r/m32, mm and, with REX.W, MOVQ r/m64, mm. */
    static void movdFromMm(Cpu c, Insn i) {
        X87Operands.checkPending(c);
        long v = get(c, i.reg);
        c.writeRm(i, i.opSize == 8 ? v : v & Xmm.LOW32);
        enter(c);
    }

    static void movqLoad(Cpu c, Insn i) {
        result(c, i.reg, source(c, i));
    }

    /** MOVQ mm/m64, mm and MOVNTQ m64, mm. */
    static void movqStore(Cpu c, Insn i) {
        X87Operands.checkPending(c);
        long v = get(c, i.reg);
        if (i.rmIsReg) {
            result(c, i.rm, v);
        } else {
            c.mem.write64(c.ea(i), v);
            enter(c);
        }
    }

    /** MOVQ2DQ xmm, mm: the XMM register's high quadword is zeroed. */
    static void movq2dq(Cpu c, Insn i) {
        X87Operands.checkPending(c);
        Xmm.set(c, i.reg, get(c, i.rm), 0);
        enter(c);
    }

    /** MOVDQ2Q mm, xmm: the low quadword. */
    static void movdq2q(Cpu c, Insn i) {
        X87Operands.checkPending(c);
        result(c, i.reg, c.xmm[2 * i.rm]);
    }

    static void emms(Cpu c, Insn i) {
        X87Operands.checkPending(c);
        c.fpu.top = 0;
        c.fpu.tags = 0;
    }

    // ---- arithmetic, logic and shifts: the SSE2 element operations on one 64-bit register ----

    static void packed(Cpu c, Insn i) {
        long b = source(c, i);
        result(c, i.reg, SsePackedInt.lane(i.sub >>> 4, i.sub & 15, get(c, i.reg), b));
    }

    static void shiftByMm(Cpu c, Insn i) {
        long count = source(c, i);
        result(c, i.reg, SsePackedInt.shifted(get(c, i.reg), i.sub >>> 4, (i.sub & 15) * 8, count));
    }

    static void shiftByImm(Cpu c, Insn i) {
        X87Operands.checkPending(c);
        result(c, i.rm, SsePackedInt.shifted(get(c, i.rm), i.sub >>> 4, (i.sub & 15) * 8, i.imm & 0xFF));
    }

    // ---- element moves ----

    /**
     * PUNPCKL* mm, mm/m32 and PUNPCKH* mm, mm/m64: the elements of the low (or high) doublewords of the
     * destination and the source, interleaved, the destination's first.
     */
    static void unpack(Cpu c, Insn i) {
        boolean high = (i.sub >>> 4) == HIGH;
        X87Operands.checkPending(c);
        long b = i.rmIsReg ? get(c, i.rm) : high ? c.mem.read64(c.ea(i)) : c.mem.read32(c.ea(i));
        long a = get(c, i.reg);
        int bits = (i.sub & 15) * 8;
        if (high) {
            a >>>= 32;
            b >>>= 32;
        }
        long mask = (1L << bits) - 1;
        long r = 0;
        for (int k = 0; k < 32 / bits; k++) {
            r |= ((a >>> (k * bits)) & mask) << (2 * k * bits);
            r |= ((b >>> (k * bits)) & mask) << ((2 * k + 1) * bits);
        }
        result(c, i.reg, r);
    }

    /** PACKSSWB, PACKSSDW, PACKUSWB: the destination's elements, then the source's, saturated to half width. */
    static void pack(Cpu c, Insn i) {
        long b = source(c, i);
        long a = get(c, i.reg);
        int from = i.sub == PACK_SSDW ? 32 : 16;
        int to = from / 2;
        int n = 64 / from;
        long r = 0;
        for (int k = 0; k < 2 * n; k++) {
            long word = k < n ? a >>> (k * from) : b >>> ((k - n) * from);
            long v = (word << (64 - from)) >> (64 - from);
            long packed = i.sub == PACK_USWB ? Math.clamp(v, 0, 255)
                    : Math.clamp(v, -(1L << (to - 1)), (1L << (to - 1)) - 1);
            r |= (packed & ((1L << to) - 1)) << (k * to);
        }
        result(c, i.reg, r);
    }

    /** PSHUFW mm, mm/m64, imm8: word k of the result is the source word that imm8's field k names. */
    static void pshufw(Cpu c, Insn i) {
        long b = source(c, i);
        int order = (int) i.imm;
        long r = 0;
        for (int k = 0; k < 4; k++) {
            r |= ((b >>> (16 * ((order >>> (2 * k)) & 3))) & 0xFFFF) << (16 * k);
        }
        result(c, i.reg, r);
    }

    /** PINSRW mm, r32/m16, imm8. */
    static void pinsrw(Cpu c, Insn i) {
        X87Operands.checkPending(c);
        long word = i.rmIsReg ? c.getReg(i.rm, 2) : c.mem.read16(c.ea(i));
        int shift = 16 * ((int) i.imm & 3);
        result(c, i.reg, (get(c, i.reg) & ~(0xFFFFL << shift)) | (word << shift));
    }

    /** PEXTRW r32, mm, imm8: the word, zero-extended into the general register. */
    static void pextrw(Cpu c, Insn i) {
        X87Operands.checkPending(c);
        c.setReg(i.reg, 8, (get(c, i.rm) >>> (16 * ((int) i.imm & 3))) & 0xFFFF);
        enter(c);
    }

    static void pmovmskb(Cpu c, Insn i) {
        X87Operands.checkPending(c);
        c.setReg(i.reg, 8, SseMoves.byteSigns(get(c, i.rm)));
        enter(c);
    }

    /** MASKMOVQ mm1, mm2: the bytes of mm1 whose byte in mm2 has its top bit set, stored at DS:rDI. */
    static void maskmovq(Cpu c, Insn i) {
        X87Operands.checkPending(c);
        SseMoves.storeMasked(c, i, 0, get(c, i.reg), get(c, i.rm));
        enter(c);
    }

    // ---- conversions between MMX doublewords and SSE floats ----

    /** CVTPI2PS xmm, mm/m64: into the low quadword, rounded by MXCSR; the high quadword is kept. */
    static void cvtpi2ps(Cpu c, Insn i) {
        long v = integerSource(c, i);
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long r = f.fromInt(SINGLE, (int) v) | f.fromInt(SINGLE, (int) (v >>> 32)) << 32;
        Mxcsr.commit(c, f.flags);
        if (i.rmIsReg) {
            enter(c);
        }
        c.xmm[2 * i.reg] = r;
    }

    /** CVTPI2PD xmm, mm/m64: exact. */
    static void cvtpi2pd(Cpu c, Insn i) {
        long v = integerSource(c, i);
        if (i.rmIsReg) {
            enter(c);
        }
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long lo = f.fromInt(DOUBLE, (int) v);
        long hi = f.fromInt(DOUBLE, (int) (v >>> 32));
        Mxcsr.commit(c, f.flags);
        Xmm.set(c, i.reg, lo, hi);
    }

    /** The doublewords CVTPI2PS/PD convert: an MMX register (x87 exceptions taken first) or memory. */
    private static long integerSource(Cpu c, Insn i) {
        return i.rmIsReg ? source(c, i) : c.mem.read64(c.ea(i));
    }

    /** CVT(T)PS2PI mm, xmm/m64: the two low singles; invalid gives the integer indefinite. */
    static void cvtps2pi(Cpu c, Insn i) {
        X87Operands.checkPending(c);
        long v = Xmm.src64(c, i);
        boolean truncate = i.sub == TRUNCATE;
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long lo = f.toInt(SINGLE, v & Xmm.LOW32, 4, truncate);
        long hi = f.toInt(SINGLE, v >>> 32, 4, truncate);
        Mxcsr.commit(c, f.flags);
        result(c, i.reg, (lo & Xmm.LOW32) | hi << 32);
    }

    /** CVT(T)PD2PI mm, xmm/m128 (aligned). */
    static void cvtpd2pi(Cpu c, Insn i) {
        X87Operands.checkPending(c);
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        boolean truncate = i.sub == TRUNCATE;
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long lo = f.toInt(DOUBLE, slo, 4, truncate);
        long hi = f.toInt(DOUBLE, shi, 4, truncate);
        Mxcsr.commit(c, f.flags);
        result(c, i.reg, (lo & Xmm.LOW32) | hi << 32);
    }
}
