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
 * NaN inputs give the integer indefinite with IE. The MMX forms (CVTPI2PS and friends) are in {@link Mmx}.
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

    private static long intToSingle(SoftFloat f, long v, int shift) {
        return f.fromInt(SINGLE, (int) (v >>> shift)) << shift;
    }

    static void cvtdq2ps(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long lo = intToSingle(f, slo, 0) | intToSingle(f, slo, 32);
        long hi = intToSingle(f, shi, 0) | intToSingle(f, shi, 32);
        Mxcsr.commit(c, f.flags);
        Xmm.set(c, i.reg, lo, hi);
    }

    private static long singleToInt(SoftFloat f, long v, int shift, boolean truncate) {
        return f.toInt(SINGLE, (v >>> shift) & Xmm.LOW32, 4, truncate) << shift;
    }

    static void cvtps2dq(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        boolean t = i.sub == TRUNCATE;
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long lo = singleToInt(f, slo, 0, t) | singleToInt(f, slo, 32, t);
        long hi = singleToInt(f, shi, 0, t) | singleToInt(f, shi, 32, t);
        Mxcsr.commit(c, f.flags);
        Xmm.set(c, i.reg, lo, hi);
    }

    /** CVTDQ2PD xmm, xmm/m64: exact. */
    static void cvtdq2pd(Cpu c, Insn i) {
        long v = Xmm.src64(c, i);
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long lo = f.fromInt(DOUBLE, (int) v);
        long hi = f.fromInt(DOUBLE, (int) (v >>> 32));
        Mxcsr.commit(c, f.flags);
        Xmm.set(c, i.reg, lo, hi);
    }

    /** CVT(T)PD2DQ: two doublewords in the low quadword, the high one zeroed. */
    static void cvtpd2dq(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        boolean t = i.sub == TRUNCATE;
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long lo = f.toInt(DOUBLE, slo, 4, t) | f.toInt(DOUBLE, shi, 4, t) << 32;
        Mxcsr.commit(c, f.flags);
        Xmm.set(c, i.reg, lo, 0);
    }
}
