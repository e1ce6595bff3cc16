package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.BYTE;
import static dev.hako.soft.decode.OpSpec.IB;
import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpSpec.IZ;
import static dev.hako.soft.decode.OpSpec.MODRM;
import static dev.hako.soft.decode.OpcodeTable.ANY;
import static dev.hako.soft.decode.OpcodeTable.MAP_0F;
import static dev.hako.soft.decode.OpcodeTable.ONE_BYTE;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;
import dev.hako.soft.fault.CpuFault;

/**
 * Multiplication and division (SDM vol. 1 ch. 7.3.2): MUL, IMUL (one, two and three operands), DIV, IDIV in
 * every width, with #DE for a zero divisor or a quotient that does not fit. After MUL/IMUL only CF and OF
 * are defined; SF ZF AF PF are left as the result's (hardware leaves them undefined).
 */
final class MulDiv {
    private MulDiv() {}

    static void register(OpcodeTable t) {
        String[] names = {"mul", "imul", "div", "idiv"};
        Exec[] handlers = {MulDiv::mul, MulDiv::imul1, MulDiv::div, MulDiv::idiv};
        for (int k = 0; k < 4; k++) {
            t.add(ONE_BYTE, 0xF6, ANY, 4 + k, names[k], MODRM | BYTE, IMM_NONE, 0, handlers[k]);
            t.add(ONE_BYTE, 0xF7, ANY, 4 + k, names[k], MODRM, IMM_NONE, 0, handlers[k]);
        }
        t.op(MAP_0F, 0xAF, "imul", MODRM, IMM_NONE, 0, MulDiv::imul2);
        t.op(ONE_BYTE, 0x69, "imul", MODRM, IZ, 0, MulDiv::imul3);
        t.op(ONE_BYTE, 0x6B, "imul", MODRM, IB, 0, MulDiv::imul3);
    }

    private static long signExtend(long v, int size) {
        int shift = 64 - size * 8;
        return v << shift >> shift;
    }

    private static void mulFlags(Cpu c, boolean overflow, long low, int size) {
        c.setArithFlags((overflow ? Flags.CF | Flags.OF : 0) | Flags.resultFlags(low, size));
    }

    /** MUL: rDX:rAX = rAX * r/m (AX = AL * r/m8). */
    static void mul(Cpu c, Insn i) {
        int size = i.opSize;
        long src = c.readRm(i);
        long a = c.getReg(Cpu.RAX, size);
        switch (size) {
            case 1 -> {
                long p = a * src;
                c.setReg(Cpu.RAX, 2, p);
                mulFlags(c, (p >>> 8) != 0, p, 1);
            }
            case 2, 4 -> {
                long p = a * src;
                int bits = size * 8;
                long high = p >>> bits;
                c.setReg(Cpu.RAX, size, p);
                c.setReg(Cpu.RDX, size, high);
                mulFlags(c, high != 0, p, size);
            }
            default -> {
                long high = Math.unsignedMultiplyHigh(a, src);
                long low = a * src;
                c.r[Cpu.RAX] = low;
                c.r[Cpu.RDX] = high;
                mulFlags(c, high != 0, low, 8);
            }
        }
    }

    /** One-operand IMUL: rDX:rAX = rAX * r/m, signed. */
    static void imul1(Cpu c, Insn i) {
        int size = i.opSize;
        long src = signExtend(c.readRm(i), size);
        long a = signExtend(c.getReg(Cpu.RAX, size), size);
        if (size == 8) {
            long high = Math.multiplyHigh(a, src);
            long low = a * src;
            c.r[Cpu.RAX] = low;
            c.r[Cpu.RDX] = high;
            mulFlags(c, high != (low >> 63), low, 8);
            return;
        }
        long p = a * src;
        boolean overflow = signExtend(p, size) != p;
        if (size == 1) {
            c.setReg(Cpu.RAX, 2, p);
        } else {
            c.setReg(Cpu.RAX, size, p);
            c.setReg(Cpu.RDX, size, p >> (size * 8));
        }
        mulFlags(c, overflow, p, size);
    }

    private static long truncatingMultiply(Cpu c, long a, long b, int size) {
        if (size == 8) {
            long high = Math.multiplyHigh(a, b);
            long low = a * b;
            mulFlags(c, high != (low >> 63), low, 8);
            return low;
        }
        long p = signExtend(a, size) * signExtend(b, size);
        mulFlags(c, signExtend(p, size) != p, p, size);
        return p;
    }

    static void imul2(Cpu c, Insn i) {
        int size = i.opSize;
        c.setReg(i.reg, size, truncatingMultiply(c, c.getReg(i.reg, size), c.readRm(i), size));
    }

    static void imul3(Cpu c, Insn i) {
        int size = i.opSize;
        c.setReg(i.reg, size, truncatingMultiply(c, c.readRm(i), i.imm, size));
    }

    /** DIV: unsigned rDX:rAX / r/m; quotient to rAX, remainder to rDX. */
    static void div(Cpu c, Insn i) {
        int size = i.opSize;
        long d = c.readRm(i);
        if (d == 0) {
            throw c.fault(CpuFault.DE);
        }
        switch (size) {
            case 1 -> {
                long n = c.getReg(Cpu.RAX, 2);
                long q = n / d;
                if (q > 0xFF) {
                    throw c.fault(CpuFault.DE);
                }
                c.setReg(Cpu.RAX, 2, ((n % d) << 8) | q);
            }
            case 2, 4 -> {
                int bits = size * 8;
                long n = (c.getReg(Cpu.RDX, size) << bits) | c.getReg(Cpu.RAX, size);
                long q = Long.divideUnsigned(n, d);
                if ((q >>> bits) != 0) {
                    throw c.fault(CpuFault.DE);
                }
                c.setReg(Cpu.RAX, size, q);
                c.setReg(Cpu.RDX, size, Long.remainderUnsigned(n, d));
            }
            default -> {
                long high = c.r[Cpu.RDX];
                long low = c.r[Cpu.RAX];
                if (Long.compareUnsigned(high, d) >= 0) {
                    throw c.fault(CpuFault.DE);
                }
                long[] qr = c.divScratch;
                Wide.divideUnsigned(high, low, d, qr);
                c.r[Cpu.RAX] = qr[0];
                c.r[Cpu.RDX] = qr[1];
            }
        }
    }

    /** IDIV: signed rDX:rAX / r/m, quotient truncated toward zero. */
    static void idiv(Cpu c, Insn i) {
        int size = i.opSize;
        long d = signExtend(c.readRm(i), size);
        if (d == 0) {
            throw c.fault(CpuFault.DE);
        }
        switch (size) {
            case 1, 2, 4 -> {
                int bits = size * 8;
                long n = size == 1 ? signExtend(c.getReg(Cpu.RAX, 2), 2)
                        : (signExtend(c.getReg(Cpu.RDX, size), size) << bits) | c.getReg(Cpu.RAX, size);
                if (size == 4 && n == Long.MIN_VALUE && d == -1) {
                    throw c.fault(CpuFault.DE);
                }
                long q = n / d;
                long rem = n % d;
                if (signExtend(q, size) != q) {
                    throw c.fault(CpuFault.DE);
                }
                if (size == 1) {
                    c.setReg(Cpu.RAX, 2, ((rem & 0xFF) << 8) | (q & 0xFF));
                } else {
                    c.setReg(Cpu.RAX, size, q);
                    c.setReg(Cpu.RDX, size, rem);
                }
            }
            default -> {
                long[] qr = c.divScratch;
                if (!Wide.divideSigned(c.r[Cpu.RDX], c.r[Cpu.RAX], d, qr)) {
                    throw c.fault(CpuFault.DE);
                }
                c.r[Cpu.RAX] = qr[0];
                c.r[Cpu.RDX] = qr[1];
            }
        }
    }
}
