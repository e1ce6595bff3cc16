package dev.hako.soft.exec;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.fault.CpuFault;

/**
 * Operand access for SSE instructions: XMM registers as (low, high) long pairs in {@link Cpu#xmm}, and the
 * ModRM r/m operand as an XMM register or memory. Legacy-encoded 128-bit memory operands must be 16-byte
 * aligned (#GP(0) otherwise, SDM vol. 1 11.6.8) except for the explicitly unaligned moves; scalar and
 * 64-bit operands never are checked. The high half's read recomputes the address rather than keep state.
 */
final class Xmm {
    static final long LOW32 = 0xFFFFFFFFL;

    private Xmm() {}

    static long alignedEa(Cpu c, Insn i) {
        long ea = c.ea(i);
        if ((ea & 15) != 0) {
            throw c.fault(CpuFault.GP, 0);
        }
        return ea;
    }

    /** Low half of an xmm/m128 source that must be aligned; call before {@link #srcHi}. */
    static long srcLo(Cpu c, Insn i) {
        return i.rmIsReg ? c.xmm[2 * i.rm] : c.mem.read64(alignedEa(c, i));
    }

    static long srcHi(Cpu c, Insn i) {
        return i.rmIsReg ? c.xmm[2 * i.rm + 1] : c.mem.read64(c.ea(i) + 8);
    }

    /** Low half of an xmm/m128 source that may be misaligned. */
    static long unalignedLo(Cpu c, Insn i) {
        return i.rmIsReg ? c.xmm[2 * i.rm] : c.mem.read64(c.ea(i));
    }

    /** An xmm/m64 source: the register's low quadword or 8 bytes of memory. */
    static long src64(Cpu c, Insn i) {
        return i.rmIsReg ? c.xmm[2 * i.rm] : c.mem.read64(c.ea(i));
    }

    /** An xmm/m32 source: the register's low doubleword or 4 bytes of memory. */
    static long src32(Cpu c, Insn i) {
        return i.rmIsReg ? c.xmm[2 * i.rm] & LOW32 : c.mem.read32(c.ea(i));
    }

    /** The source of a scalar operation on {@code fmt} ({@link SoftFloat#SINGLE} or DOUBLE): xmm/m32 or xmm/m64. */
    static long srcScalar(Cpu c, Insn i, int fmt) {
        return fmt == SoftFloat.SINGLE ? src32(c, i) : src64(c, i);
    }

    /** The low element of a register, of format {@code fmt}. */
    static long lowElement(Cpu c, int reg, int fmt) {
        return fmt == SoftFloat.SINGLE ? c.xmm[2 * reg] & LOW32 : c.xmm[2 * reg];
    }

    /** Replaces the low element of a register, of format {@code fmt}, keeping the rest. */
    static void setLowElement(Cpu c, int reg, int fmt, long value) {
        if (fmt == SoftFloat.SINGLE) {
            setLow32(c, reg, value);
        } else {
            c.xmm[2 * reg] = value;
        }
    }

    static void set(Cpu c, int reg, long lo, long hi) {
        c.xmm[2 * reg] = lo;
        c.xmm[2 * reg + 1] = hi;
    }

    /** Replaces the low doubleword of a register, keeping the rest. */
    static void setLow32(Cpu c, int reg, long value) {
        c.xmm[2 * reg] = (c.xmm[2 * reg] & ~LOW32) | (value & LOW32);
    }
}
