package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.BYTE;
import static dev.hako.soft.decode.OpSpec.IB_UNSIGNED;
import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpSpec.MODRM;
import static dev.hako.soft.decode.OpcodeTable.ANY;
import static dev.hako.soft.decode.OpcodeTable.MAP_0F;
import static dev.hako.soft.decode.OpcodeTable.ONE_BYTE;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;

/**
 * Shifts and rotates (SDM vol. 1 ch. 7.3.6): ROL ROR RCL RCR SHL SHR SAL SAR by 1, CL and imm8, SHLD, SHRD.
 * Flags are produced eagerly; a masked count of zero changes nothing.
 */
public final class Shift {
    public static final int ROL = 0, ROR = 1, RCL = 2, RCR = 3, SHL = 4, SHR = 5, SAL = 6, SAR = 7;
    private static final String[] NAMES = {"rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"};
    /** How the count is given: imm8, 1, or CL. */
    private static final int BY_IMM = 0, BY_ONE = 1, BY_CL = 2;

    private Shift() {}

    static void register(OpcodeTable t) {
        int[][] forms = { // opcode, byte?, count source
            {0xC0, 1, BY_IMM}, {0xC1, 0, BY_IMM}, {0xD0, 1, BY_ONE}, {0xD1, 0, BY_ONE}, {0xD2, 1, BY_CL}, {0xD3, 0, BY_CL}};
        for (int[] f : forms) {
            for (int op = 0; op < 8; op++) {
                int flags = MODRM | (f[1] == 1 ? BYTE : 0);
                int imm = f[2] == BY_IMM ? IB_UNSIGNED : IMM_NONE;
                Exec exec = switch (f[2]) {
                    case BY_IMM -> Shift::byImm;
                    case BY_ONE -> Shift::byOne;
                    default -> Shift::byCl;
                };
                t.add(ONE_BYTE, f[0], ANY, op, NAMES[op], flags, imm, op, exec);
            }
        }
        t.op(MAP_0F, 0xA4, "shld", MODRM, IB_UNSIGNED, 0, Shift::shldImm);
        t.op(MAP_0F, 0xA5, "shld", MODRM, IMM_NONE, 0, Shift::shldCl);
        t.op(MAP_0F, 0xAC, "shrd", MODRM, IB_UNSIGNED, 1, Shift::shldImm);
        t.op(MAP_0F, 0xAD, "shrd", MODRM, IMM_NONE, 1, Shift::shldCl);
    }

    static void byImm(Cpu c, Insn i) {
        apply(c, i, (int) i.imm);
    }

    static void byOne(Cpu c, Insn i) {
        apply(c, i, 1);
    }

    static void byCl(Cpu c, Insn i) {
        apply(c, i, (int) c.r[Cpu.RCX] & 0xFF);
    }

    private static int maskCount(int count, int size) {
        return count & (size == 8 ? 63 : 31);
    }

    private static void apply(Cpu c, Insn i, int rawCount) {
        int size = i.opSize;
        int count = maskCount(rawCount, size);
        long ea = i.rmIsReg ? 0 : c.ea(i);
        long a = i.rmIsReg ? c.getReg(i.rm, size) : c.mem.read(ea, size);
        if (count == 0) {
            if (i.rmIsReg && size == 4) {
                c.setReg(i.rm, 4, a); // a 32-bit destination is still written, zero-extended
            }
            return;
        }
        if (!i.rmIsReg) {
            c.mem.prepareWrite(ea, size); // a write fault must leave the flags untouched
        }
        long r = compute(c, i.sub, a, count, size);
        if (i.rmIsReg) {
            c.setReg(i.rm, size, r);
        } else {
            c.mem.write(ea, size, r);
        }
    }

    private static long shl(long v, int n) {
        return n >= 64 ? 0 : v << n;
    }

    private static long shr(long v, int n) {
        return n >= 64 ? 0 : v >>> n;
    }

    private static long bit(long v, int n) {
        return n < 0 || n >= 64 ? 0 : (v >>> n) & 1;
    }

    /** Shifts or rotates {@code a} ({@code size} bytes) by a non-zero masked count; sets the flags. */
    public static long compute(Cpu c, int op, long a, int count, int size) {
        int bits = size * 8;
        long m = Flags.mask(size);
        a &= m;
        long old = Flags.arith(c);
        long cf;
        long of;
        long r;
        switch (op) {
            case ROL, ROR -> {
                int n = count % bits;
                r = op == ROL ? (shl(a, n) | shr(a, bits - n)) & m : (shr(a, n) | shl(a, bits - n)) & m;
                long msb = bit(r, bits - 1);
                cf = op == ROL ? r & 1 : msb;
                of = op == ROL ? msb ^ cf : msb ^ bit(r, bits - 2);
                c.setArithFlags((old & ~(Flags.CF | Flags.OF)) | cf | (of != 0 ? Flags.OF : 0));
                return r;
            }
            case RCL, RCR -> {
                int n = size < 4 ? count % (bits + 1) : count;
                long carry = old & Flags.CF;
                if (n == 0) {
                    return a;
                }
                if (op == RCL) {
                    // Rotate the (bits+1)-bit value CF:a left by n.
                    r = (shl(a, n) | shl(carry, n - 1) | shr(a, bits + 1 - n)) & m;
                    cf = bit(a, bits - n);
                    of = bit(r, bits - 1) ^ cf;
                } else {
                    r = (shr(a, n) | shl(carry, bits - n) | shl(a, bits + 1 - n)) & m;
                    cf = bit(a, n - 1);
                    of = bit(r, bits - 1) ^ bit(r, bits - 2);
                }
                c.setArithFlags((old & ~(Flags.CF | Flags.OF)) | cf | (of != 0 ? Flags.OF : 0));
                return r;
            }
            case SHL, SAL -> {
                r = shl(a, count) & m;
                cf = bit(a, bits - count);
                of = bit(r, bits - 1) ^ cf;
            }
            case SHR -> {
                r = shr(a, count);
                cf = bit(a, count - 1);
                of = bit(a, bits - 1);
            }
            default -> { // SAR
                long signed = a << (64 - bits) >> (64 - bits);
                int n = Math.min(count, 63);
                r = (signed >> n) & m;
                cf = (signed >> (n - 1)) & 1;
                of = 0;
            }
        }
        c.setArithFlags(cf | (of != 0 ? Flags.OF : 0) | Flags.resultFlags(r, size));
        return r;
    }

    static void shldImm(Cpu c, Insn i) {
        doubleShift(c, i, (int) i.imm);
    }

    static void shldCl(Cpu c, Insn i) {
        doubleShift(c, i, (int) c.r[Cpu.RCX] & 0xFF);
    }

    /** SHLD (sub 0) and SHRD (sub 1): shift the destination, filling from the register operand. */
    private static void doubleShift(Cpu c, Insn i, int rawCount) {
        int size = i.opSize;
        int bits = size * 8;
        int count = maskCount(rawCount, size);
        long ea = i.rmIsReg ? 0 : c.ea(i);
        long m = Flags.mask(size);
        long a = (i.rmIsReg ? c.getReg(i.rm, size) : c.mem.read(ea, size)) & m;
        if (count == 0) {
            if (i.rmIsReg && size == 4) {
                c.setReg(i.rm, 4, a);
            }
            return;
        }
        if (!i.rmIsReg) {
            c.mem.prepareWrite(ea, size);
        }
        long src = c.getReg(i.reg, size) & m;
        long r;
        long cf;
        if (i.sub == 0) {
            // For 16-bit counts above 16 the result is undefined; hardware shifts the 48-bit src:a:src.
            r = bits == 16 ? (shl(a << 32 | src << 16 | src, count) >>> 32) & m : (shl(a, count) | shr(src, bits - count)) & m;
            cf = bits == 16 && count > 16 ? bit(src, 32 - count) : bit(a, bits - count);
        } else {
            r = bits == 16 ? shr(src << 32 | src << 16 | a, count) & m : (shr(a, count) | shl(src, bits - count)) & m;
            cf = bits == 16 && count > 16 ? bit(src, count - 17) : bit(a, count - 1);
        }
        long of = bit(r ^ a, bits - 1);
        c.setArithFlags(cf | (of != 0 ? Flags.OF : 0) | Flags.resultFlags(r, size));
        if (i.rmIsReg) {
            c.setReg(i.rm, size, r);
        } else {
            c.mem.write(ea, size, r);
        }
    }
}
