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
    static final int ADD = 0, MUL = 1, SUB = 4, MIN = 5, DIV = 6, MAX = 7, SQRT = 8;
    private static final int[] PREFIX = {NP, P66, PF3, PF2};
    private static final String[] SUFFIX = {"ps", "pd", "ss", "sd"};
    private static final Exec[] HANDLERS = {SseFloat::packedSingle, SseFloat::packedDouble,
            SseFloat::scalarSingle, SseFloat::scalarDouble};

    private SseFloat() {}

    static void register(OpcodeTable t) {
        Object[][] ops = {{0x58, "add", ADD}, {0x59, "mul", MUL}, {0x5C, "sub", SUB}, {0x5D, "min", MIN},
                {0x5E, "div", DIV}, {0x5F, "max", MAX}, {0x51, "sqrt", SQRT}};
        for (Object[] row : ops) {
            for (int form = 0; form < 4; form++) {
                t.add(MAP_0F, (int) row[0], PREFIX[form], ANY, row[1] + SUFFIX[form], MODRM, IMM_NONE, (int) row[2],
                        HANDLERS[form]);
            }
        }
        Exec[] compares = {SseFloat::comparePackedSingle, SseFloat::comparePackedDouble,
                SseFloat::compareScalarSingle, SseFloat::compareScalarDouble};
        for (int form = 0; form < 4; form++) {
            t.add(MAP_0F, 0xC2, PREFIX[form], ANY, "cmp" + SUFFIX[form], MODRM, IB_UNSIGNED, 0, compares[form]);
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

    /** One operation; {@code a} is the destination's element, {@code b} the source's. */
    static long compute(SoftFloat f, int op, int fmt, long a, long b) {
        return switch (op) {
            case ADD -> f.add(fmt, a, b);
            case SUB -> f.sub(fmt, a, b);
            case MUL -> f.mul(fmt, a, b);
            case DIV -> f.div(fmt, a, b);
            case MIN -> f.minMax(fmt, a, b, false);
            case MAX -> f.minMax(fmt, a, b, true);
            default -> f.sqrt(fmt, b);
        };
    }

    private static long single(SoftFloat f, int op, long a, long b, int shift) {
        return compute(f, op, SINGLE, (a >>> shift) & Xmm.LOW32, (b >>> shift) & Xmm.LOW32) << shift;
    }

    static void packedSingle(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        int d = 2 * i.reg;
        long dlo = c.xmm[d], dhi = c.xmm[d + 1];
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        int op = i.sub;
        long lo = single(f, op, dlo, slo, 0) | single(f, op, dlo, slo, 32);
        long hi = single(f, op, dhi, shi, 0) | single(f, op, dhi, shi, 32);
        Mxcsr.commit(c, f.flags);
        Xmm.set(c, i.reg, lo, hi);
    }

    static void packedDouble(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        int d = 2 * i.reg;
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long lo = compute(f, i.sub, DOUBLE, c.xmm[d], slo);
        long hi = compute(f, i.sub, DOUBLE, c.xmm[d + 1], shi);
        Mxcsr.commit(c, f.flags);
        Xmm.set(c, i.reg, lo, hi);
    }

    static void scalarSingle(Cpu c, Insn i) {
        long b = Xmm.src32(c, i);
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long r = compute(f, i.sub, SINGLE, c.xmm[2 * i.reg] & Xmm.LOW32, b);
        Mxcsr.commit(c, f.flags);
        Xmm.setLow32(c, i.reg, r);
    }

    static void scalarDouble(Cpu c, Insn i) {
        long b = Xmm.src64(c, i);
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long r = compute(f, i.sub, DOUBLE, c.xmm[2 * i.reg], b);
        Mxcsr.commit(c, f.flags);
        c.xmm[2 * i.reg] = r;
    }

    // ---- comparisons ----

    private static long compareSingle(SoftFloat f, long a, long b, int shift, int predicate) {
        return f.compare(SINGLE, (a >>> shift) & Xmm.LOW32, (b >>> shift) & Xmm.LOW32, predicate)
                ? Xmm.LOW32 << shift : 0;
    }

    static void comparePackedSingle(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        int d = 2 * i.reg;
        long dlo = c.xmm[d], dhi = c.xmm[d + 1];
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        int p = (int) i.imm;
        long lo = compareSingle(f, dlo, slo, 0, p) | compareSingle(f, dlo, slo, 32, p);
        long hi = compareSingle(f, dhi, shi, 0, p) | compareSingle(f, dhi, shi, 32, p);
        Mxcsr.commit(c, f.flags);
        Xmm.set(c, i.reg, lo, hi);
    }

    static void comparePackedDouble(Cpu c, Insn i) {
        long slo = Xmm.srcLo(c, i);
        long shi = Xmm.srcHi(c, i);
        int d = 2 * i.reg;
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        int p = (int) i.imm;
        long lo = f.compare(DOUBLE, c.xmm[d], slo, p) ? -1 : 0;
        long hi = f.compare(DOUBLE, c.xmm[d + 1], shi, p) ? -1 : 0;
        Mxcsr.commit(c, f.flags);
        Xmm.set(c, i.reg, lo, hi);
    }

    static void compareScalarSingle(Cpu c, Insn i) {
        long b = Xmm.src32(c, i);
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        long r = compareSingle(f, c.xmm[2 * i.reg], b, 0, (int) i.imm);
        Mxcsr.commit(c, f.flags);
        Xmm.setLow32(c, i.reg, r);
    }

    static void compareScalarDouble(Cpu c, Insn i) {
        long b = Xmm.src64(c, i);
        SoftFloat f = c.sse;
        f.begin(c.mxcsr);
        boolean r = f.compare(DOUBLE, c.xmm[2 * i.reg], b, (int) i.imm);
        Mxcsr.commit(c, f.flags);
        c.xmm[2 * i.reg] = r ? -1 : 0;
    }

    static void comis(Cpu c, Insn i) {
        orderedCompare(c, i, true);
    }

    static void ucomis(Cpu c, Insn i) {
        orderedCompare(c, i, false);
    }

    /** (U)COMISS/SD: ZF PF CF from the comparison; OF SF AF cleared. */
    private static void orderedCompare(Cpu c, Insn i, boolean signaling) {
        int fmt = i.sub;
        long b = fmt == SINGLE ? Xmm.src32(c, i) : Xmm.src64(c, i);
        long a = fmt == SINGLE ? c.xmm[2 * i.reg] & Xmm.LOW32 : c.xmm[2 * i.reg];
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
