package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.IB_UNSIGNED;
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
 * SSE/SSE2 floating-point arithmetic, comparison and approximation (SDM vol. 1 10.4.2, 11.4.1): packed
 * (PS, PD) and scalar (SS, SD) forms. Results are computed into locals, the exceptions committed to MXCSR,
 * then the destination written, so an unmasked exception (#XM) leaves it untouched. Scalar forms keep the
 * destination's other elements.
 */
final class SseFloat {
    static final int ADD = 0, MUL = 1, SUB = 4, MIN = 5, DIV = 6, MAX = 7, SQRT = 8, CMP = 9;
    private static final int[] PREFIX = {NP, P66, PF3, PF2};
    private static final String[] SUFFIX = {"ps", "pd", "ss", "sd"};
    private static final Exec[] HANDLERS = {SseFloat::packedSingle, SseFloat::packedDouble,
            (c, i) -> scalar(c, i, SINGLE), (c, i) -> scalar(c, i, DOUBLE)};

    private SseFloat() {}

    static void register(OpcodeTable t) {
        Object[][] ops = {{0x58, "add", ADD, IMM_NONE}, {0x59, "mul", MUL, IMM_NONE}, {0x5C, "sub", SUB, IMM_NONE},
                {0x5D, "min", MIN, IMM_NONE}, {0x5E, "div", DIV, IMM_NONE}, {0x5F, "max", MAX, IMM_NONE},
                {0x51, "sqrt", SQRT, IMM_NONE}, {0xC2, "cmp", CMP, IB_UNSIGNED}};
        for (Object[] row : ops) {
            for (int form = 0; form < 4; form++) {
                t.add(MAP_0F, (int) row[0], PREFIX[form], ANY, row[1] + SUFFIX[form], MODRM, (int) row[3],
                        (int) row[2], HANDLERS[form]);
            }
        }
        t.add(MAP_0F, 0x2E, NP, ANY, "ucomiss", MODRM, IMM_NONE, SINGLE, SseFloat::ucomis);
        t.add(MAP_0F, 0x2E, P66, ANY, "ucomisd", MODRM, IMM_NONE, DOUBLE, SseFloat::ucomis);
        t.add(MAP_0F, 0x2F, NP, ANY, "comiss", MODRM, IMM_NONE, SINGLE, SseFloat::comis);
        t.add(MAP_0F, 0x2F, P66, ANY, "comisd", MODRM, IMM_NONE, DOUBLE, SseFloat::comis);
        t.add(MAP_0F, 0x53, NP, ANY, "rcpps", MODRM, IMM_NONE, 0, SseFloat::approximatePacked);
        t.add(MAP_0F, 0x52, NP, ANY, "rsqrtps", MODRM, IMM_NONE, 1, SseFloat::approximatePacked);
        t.add(MAP_0F, 0x53, PF3, ANY, "rcpss", MODRM, IMM_NONE, 0, SseFloat::approximateScalar);
        t.add(MAP_0F, 0x52, PF3, ANY, "rsqrtss", MODRM, IMM_NONE, 1, SseFloat::approximateScalar);
    }

    /**
     * One operation on one element; {@code a} is the destination's element, {@code b} the source's. CMP gives
     * an all-ones mask of the element's width when the CMPPS predicate (imm8) holds, else zero.
     */
    static long compute(SoftFloat f, int op, int fmt, long a, long b, int predicate) {
        return switch (op) {
            case ADD -> f.add(fmt, a, b);
            case SUB -> f.sub(fmt, a, b);
            case MUL -> f.mul(fmt, a, b);
            case DIV -> f.div(fmt, a, b);
            case MIN -> f.minMax(fmt, a, b, false);
            case MAX -> f.minMax(fmt, a, b, true);
            case CMP -> f.compare(fmt, a, b, predicate) ? (fmt == SINGLE ? Xmm.LOW32 : -1) : 0;
            default -> f.sqrt(fmt, b);
        };
    }

    private static long single(SoftFloat f, int op, long a, long b, int shift, int predicate) {
        return compute(f, op, SINGLE, (a >>> shift) & Xmm.LOW32, (b >>> shift) & Xmm.LOW32, predicate) << shift;
    }

    static void packedSingle(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        int d = 2 * i.reg;
        long dlo = c.xmm[d], dhi = c.xmm[d + 1];
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        int op = i.sub;
        int p = (int) i.imm;
        long lo = single(f, op, dlo, slo, 0, p) | single(f, op, dlo, slo, 32, p);
        long hi = single(f, op, dhi, shi, 0, p) | single(f, op, dhi, shi, 32, p);
        Mxcsr.commit(c, f.flags);
        Xmm.set(c, i.reg, lo, hi);
    }

    static void packedDouble(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        int d = 2 * i.reg;
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long lo = compute(f, i.sub, DOUBLE, c.xmm[d], slo, (int) i.imm);
        long hi = compute(f, i.sub, DOUBLE, c.xmm[d + 1], shi, (int) i.imm);
        Mxcsr.commit(c, f.flags);
        Xmm.set(c, i.reg, lo, hi);
    }

    /** SS and SD forms: the low element of format {@code fmt}. */
    static void scalar(Cpu c, Insn i, int fmt) {
        long b = Xmm.srcScalar(c, i, fmt);
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long r = compute(f, i.sub, fmt, Xmm.lowElement(c, i.reg, fmt), b, (int) i.imm);
        Mxcsr.commit(c, f.flags);
        Xmm.setLowElement(c, i.reg, fmt, r);
    }

    // ---- ordered comparisons to RFLAGS ----

    static void comis(Cpu c, Insn i) {
        orderedCompare(c, i, true);
    }

    static void ucomis(Cpu c, Insn i) {
        orderedCompare(c, i, false);
    }

    /** (U)COMISS/SD: ZF PF CF from the comparison; OF SF AF cleared. */
    private static void orderedCompare(Cpu c, Insn i, boolean signaling) {
        int fmt = i.sub;
        long b = Xmm.srcScalar(c, i, fmt);
        long a = Xmm.lowElement(c, i.reg, fmt);
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long flags = f.compareFlags(fmt, a, b, signaling);
        Mxcsr.commit(c, f.flags);
        c.setArithFlags(flags);
    }

    // ---- approximations ----

    private static long approximate(long v, int shift, boolean squareRoot) {
        return (SoftFloat.reciprocal((int) (v >>> shift), squareRoot) & Xmm.LOW32) << shift;
    }

    static void approximatePacked(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        boolean sqrt = i.sub == 1;
        Xmm.set(c, i.reg, approximate(slo, 0, sqrt) | approximate(slo, 32, sqrt),
                approximate(shi, 0, sqrt) | approximate(shi, 32, sqrt));
    }

    static void approximateScalar(Cpu c, Insn i) {
        Xmm.setLow32(c, i.reg, approximate(Xmm.src32(c, i), 0, i.sub == 1));
    }
}
