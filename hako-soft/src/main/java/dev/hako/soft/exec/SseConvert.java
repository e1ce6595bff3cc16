package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpSpec.MODRM;
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
 * SSE/SSE2 conversions (SDM vol. 1 10.4.6, 11.4.2): integer to and from single and double, single to and
 * from double, scalar and packed. The CVTT forms truncate; the others round by MXCSR.RC. Out-of-range and
 * NaN inputs give the integer indefinite with IE. The MMX forms convert between two doublewords in mm/m64
 * and the low singles or the two doubles of an XMM register: CVTPI2PS, CVTPI2PD, CVT(T)PS2PI, CVT(T)PD2PI.
 * All of them put the x87 unit in MMX mode except CVTPI2PS and CVTPI2PD from memory, which touch no MMX state.
 */
final class SseConvert {
    private static final int TRUNCATE = 1;

    private SseConvert() {}

    static void register(OpcodeTable t) {
        t.add(MAP_0F, 0x2A, PF3, ANY, "cvtsi2ss", MODRM, IMM_NONE, SINGLE, SseConvert::cvtsi2s);
        t.add(MAP_0F, 0x2A, PF2, ANY, "cvtsi2sd", MODRM, IMM_NONE, DOUBLE, SseConvert::cvtsi2s);
        t.add(MAP_0F, 0x2D, PF3, ANY, "cvtss2si", MODRM, IMM_NONE, SINGLE << 1, SseConvert::cvts2si);
        t.add(MAP_0F, 0x2D, PF2, ANY, "cvtsd2si", MODRM, IMM_NONE, DOUBLE << 1, SseConvert::cvts2si);
        t.add(MAP_0F, 0x2C, PF3, ANY, "cvttss2si", MODRM, IMM_NONE, SINGLE << 1 | TRUNCATE, SseConvert::cvts2si);
        t.add(MAP_0F, 0x2C, PF2, ANY, "cvttsd2si", MODRM, IMM_NONE, DOUBLE << 1 | TRUNCATE, SseConvert::cvts2si);
        t.add(MAP_0F, 0x5A, PF3, ANY, "cvtss2sd", MODRM, IMM_NONE, SINGLE, SseConvert::convertScalar);
        t.add(MAP_0F, 0x5A, PF2, ANY, "cvtsd2ss", MODRM, IMM_NONE, DOUBLE, SseConvert::convertScalar);
        t.add(MAP_0F, 0x5A, NP, ANY, "cvtps2pd", MODRM, IMM_NONE, 0, SseConvert::cvtps2pd);
        t.add(MAP_0F, 0x5A, P66, ANY, "cvtpd2ps", MODRM, IMM_NONE, 0, SseConvert::cvtpd2ps);
        t.add(MAP_0F, 0x5B, NP, ANY, "cvtdq2ps", MODRM, IMM_NONE, 0, SseConvert::cvtdq2ps);
        t.add(MAP_0F, 0x5B, P66, ANY, "cvtps2dq", MODRM, IMM_NONE, 0, SseConvert::cvtps2dq);
        t.add(MAP_0F, 0x5B, PF3, ANY, "cvttps2dq", MODRM, IMM_NONE, TRUNCATE, SseConvert::cvtps2dq);
        t.add(MAP_0F, 0xE6, PF3, ANY, "cvtdq2pd", MODRM, IMM_NONE, 0, SseConvert::cvtdq2pd);
        t.add(MAP_0F, 0xE6, PF2, ANY, "cvtpd2dq", MODRM, IMM_NONE, 0, SseConvert::cvtpd2dq);
        t.add(MAP_0F, 0xE6, P66, ANY, "cvttpd2dq", MODRM, IMM_NONE, TRUNCATE, SseConvert::cvtpd2dq);
        t.add(MAP_0F, 0x2A, NP, ANY, "cvtpi2ps", MODRM, IMM_NONE, 0, SseConvert::cvtpi2ps);
        t.add(MAP_0F, 0x2A, P66, ANY, "cvtpi2pd", MODRM, IMM_NONE, 0, SseConvert::cvtpi2pd);
        t.add(MAP_0F, 0x2D, NP, ANY, "cvtps2pi", MODRM, IMM_NONE, 0, SseConvert::cvtps2pi);
        t.add(MAP_0F, 0x2C, NP, ANY, "cvttps2pi", MODRM, IMM_NONE, TRUNCATE, SseConvert::cvtps2pi);
        t.add(MAP_0F, 0x2D, P66, ANY, "cvtpd2pi", MODRM, IMM_NONE, 0, SseConvert::cvtpd2pi);
        t.add(MAP_0F, 0x2C, P66, ANY, "cvttpd2pi", MODRM, IMM_NONE, TRUNCATE, SseConvert::cvtpd2pi);
    }

    /** CVTSI2SS/SD xmm, r/m32 or r/m64: into the low element, the rest kept. */
    static void cvtsi2s(Cpu c, Insn i) {
        long v = c.readRm(i);
        if (i.opSize == 4) {
            v = (int) v;
        }
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long r = f.fromInt(i.sub, v);
        Mxcsr.commit(c, f.flags);
        Xmm.setLowElement(c, i.reg, i.sub, r);
    }

    /** CVT(T)SS2SI / CVT(T)SD2SI r32/r64, xmm/m. */
    static void cvts2si(Cpu c, Insn i) {
        int fmt = i.sub >>> 1;
        long v = Xmm.srcScalar(c, i, fmt);
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long r = f.toInt(fmt, v, i.opSize, (i.sub & TRUNCATE) != 0);
        Mxcsr.commit(c, f.flags);
        c.setReg(i.reg, i.opSize, r);
    }

    /** CVTSS2SD / CVTSD2SS (sub: the source format): the low element converted, the rest kept. */
    static void convertScalar(Cpu c, Insn i) {
        int from = i.sub;
        int to = from == SINGLE ? DOUBLE : SINGLE;
        long v = Xmm.srcScalar(c, i, from);
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long r = f.convert(from, to, v);
        Mxcsr.commit(c, f.flags);
        Xmm.setLowElement(c, i.reg, to, r);
    }

    /** CVTPS2PD xmm, xmm/m64: the two low singles widen. */
    static void cvtps2pd(Cpu c, Insn i) {
        long v = Xmm.src64(c, i);
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long lo = f.convert(SINGLE, DOUBLE, v & Xmm.LOW32);
        long hi = f.convert(SINGLE, DOUBLE, v >>> 32);
        Mxcsr.commit(c, f.flags);
        Xmm.set(c, i.reg, lo, hi);
    }

    /** CVTPD2PS: two singles in the low quadword, the high one zeroed. */
    static void cvtpd2ps(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long lo = f.convert(DOUBLE, SINGLE, slo) | f.convert(DOUBLE, SINGLE, shi) << 32;
        Mxcsr.commit(c, f.flags);
        Xmm.set(c, i.reg, lo, 0);
    }

    /** Two doublewords to two singles, in the same places of a quadword. */
    private static long intsToSingles(SoftFloat f, long v) {
        return f.fromInt(SINGLE, (int) v) & Xmm.LOW32 | f.fromInt(SINGLE, (int) (v >>> 32)) << 32;
    }

    /** Two singles to two doublewords, in the same places of a quadword. */
    private static long singlesToInts(SoftFloat f, long v, boolean truncate) {
        return f.toInt(SINGLE, v & Xmm.LOW32, 4, truncate) | f.toInt(SINGLE, v >>> 32, 4, truncate) << 32;
    }

    /** Two doubles to two doublewords in one quadword. */
    private static long doublesToInts(SoftFloat f, long lo, long hi, boolean truncate) {
        return f.toInt(DOUBLE, lo, 4, truncate) | f.toInt(DOUBLE, hi, 4, truncate) << 32;
    }

    /** Two doublewords to two doubles in {@code reg}; exact. */
    private static void intsToDoubles(Cpu c, int reg, long v) {
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        Xmm.set(c, reg, f.fromInt(DOUBLE, (int) v), f.fromInt(DOUBLE, (int) (v >>> 32)));
    }

    static void cvtdq2ps(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long lo = intsToSingles(f, slo);
        long hi = intsToSingles(f, shi);
        Mxcsr.commit(c, f.flags);
        Xmm.set(c, i.reg, lo, hi);
    }

    static void cvtps2dq(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        boolean t = i.sub == TRUNCATE;
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long lo = singlesToInts(f, slo, t);
        long hi = singlesToInts(f, shi, t);
        Mxcsr.commit(c, f.flags);
        Xmm.set(c, i.reg, lo, hi);
    }

    /** CVTDQ2PD xmm, xmm/m64. */
    static void cvtdq2pd(Cpu c, Insn i) {
        intsToDoubles(c, i.reg, Xmm.src64(c, i));
    }

    /** CVT(T)PD2DQ: two doublewords in the low quadword, the high one zeroed. */
    static void cvtpd2dq(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long lo = doublesToInts(f, slo, shi, i.sub == TRUNCATE);
        Mxcsr.commit(c, f.flags);
        Xmm.set(c, i.reg, lo, 0);
    }

    /** CVTPI2PS xmm, mm/m64: into the low quadword, the high one kept. */
    static void cvtpi2ps(Cpu c, Insn i) {
        long v = mmxOrMemory(c, i);
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long lo = intsToSingles(f, v);
        Mxcsr.commit(c, f.flags);
        c.xmm[2 * i.reg] = lo;
        if (i.rmIsReg) {
            Mmx.touched(c);
        }
    }

    /** CVTPI2PD xmm, mm/m64. */
    static void cvtpi2pd(Cpu c, Insn i) {
        intsToDoubles(c, i.reg, mmxOrMemory(c, i));
        if (i.rmIsReg) {
            Mmx.touched(c);
        }
    }

    /**
     * The mm/m64 source of CVTPI2PS and CVTPI2PD: an MMX register, with the MMX checks; or memory, which
     * leaves these SSE instructions alone, without MMX checks or effects (as the SDM says of CVTPI2PD, and
     * as the host CPU, the oracle, shows for both).
     */
    private static long mmxOrMemory(Cpu c, Insn i) {
        if (!i.rmIsReg) {
            return c.mem.read64(c.ea(i));
        }
        Mmx.check(c);
        return Mmx.get(c, i.rm);
    }

    /** CVT(T)PS2PI mm, xmm/m64. */
    static void cvtps2pi(Cpu c, Insn i) {
        Mmx.check(c);
        long v = Xmm.src64(c, i);
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long r = singlesToInts(f, v, i.sub == TRUNCATE);
        Mxcsr.commit(c, f.flags);
        Mmx.set(c, i.reg, r);
    }

    /** CVT(T)PD2PI mm, xmm/m128 (aligned). */
    static void cvtpd2pi(Cpu c, Insn i) {
        Mmx.check(c);
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long r = doublesToInts(f, slo, shi, i.sub == TRUNCATE);
        Mxcsr.commit(c, f.flags);
        Mmx.set(c, i.reg, r);
    }
}
