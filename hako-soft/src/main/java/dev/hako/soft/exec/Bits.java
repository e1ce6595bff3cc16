package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.IB_UNSIGNED;
import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpSpec.KEEP_66;
import static dev.hako.soft.decode.OpSpec.LOCKABLE;
import static dev.hako.soft.decode.OpSpec.MODRM;
import static dev.hako.soft.decode.OpcodeTable.ANY;
import static dev.hako.soft.decode.OpcodeTable.MAP_0F;
import static dev.hako.soft.decode.OpcodeTable.NP;
import static dev.hako.soft.decode.OpcodeTable.P66;
import static dev.hako.soft.decode.OpcodeTable.PF2;
import static dev.hako.soft.decode.OpcodeTable.PF3;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;

/**
 * Bit and byte instructions (SDM vol. 1 ch. 7.3.7): BT BTS BTR BTC (register and imm8 offsets), BSF, BSR,
 * and TZCNT, LZCNT, POPCNT as CPUID advertises them.
 */
final class Bits {
    static final int BT = 0, BTS = 1, BTR = 2, BTC = 3;

    private Bits() {}

    static void register(OpcodeTable t) {
        int[] regForms = {0xA3, 0xAB, 0xB3, 0xBB};
        String[] names = {"bt", "bts", "btr", "btc"};
        for (int op = 0; op < 4; op++) {
            int lockable = op == BT ? 0 : LOCKABLE;
            t.op(MAP_0F, regForms[op], names[op], MODRM | lockable, IMM_NONE, op, Bits::btEvGv);
            t.add(MAP_0F, 0xBA, ANY, 4 + op, names[op], MODRM | lockable, IB_UNSIGNED, op, Bits::btEvIb);
        }
        for (int prefix : new int[] {NP, P66, PF2}) {
            t.add(MAP_0F, 0xBC, prefix, ANY, "bsf", MODRM | KEEP_66, IMM_NONE, 0, Bits::bsf);
            t.add(MAP_0F, 0xBD, prefix, ANY, "bsr", MODRM | KEEP_66, IMM_NONE, 0, Bits::bsr);
        }
        t.add(MAP_0F, 0xBC, PF3, ANY, "tzcnt", MODRM, IMM_NONE, 0, Bits::tzcnt);
        t.add(MAP_0F, 0xBD, PF3, ANY, "lzcnt", MODRM, IMM_NONE, 0, Bits::lzcnt);
        t.add(MAP_0F, 0xB8, PF3, ANY, "popcnt", MODRM, IMM_NONE, 0, Bits::popcnt);
    }

    /** Register bit offsets address memory as a bit string: the offset is signed and may leave the operand. */
    static void btEvGv(Cpu c, Insn i) {
        int size = i.opSize;
        long offset = c.getReg(i.reg, size);
        if (i.rmIsReg) {
            registerForm(c, i, offset & (size * 8 - 1));
            return;
        }
        int shift = 64 - size * 8;
        long signedOffset = offset << shift >> shift;
        long ea = c.ea(i) + (signedOffset >> (size == 8 ? 6 : size == 4 ? 5 : size == 2 ? 4 : 3)) * size;
        memoryForm(c, i, ea, signedOffset & (size * 8 - 1));
    }

    static void btEvIb(Cpu c, Insn i) {
        long bit = i.imm & (i.opSize * 8 - 1);
        if (i.rmIsReg) {
            registerForm(c, i, bit);
        } else {
            memoryForm(c, i, c.ea(i), bit);
        }
    }

    private static long apply(int op, long value, long mask) {
        return switch (op) {
            case BTS -> value | mask;
            case BTR -> value & ~mask;
            case BTC -> value ^ mask;
            default -> value;
        };
    }

    /** CF takes the bit; OF SF AF PF are undefined (left as they were here); ZF is kept. */
    private static void setCarry(Cpu c, boolean bitSet) {
        long f = Flags.arith(c) & ~Flags.CF;
        c.setArithFlags(f | (bitSet ? Flags.CF : 0));
    }

    private static void registerForm(Cpu c, Insn i, long bit) {
        long v = c.getReg(i.rm, i.opSize);
        long mask = 1L << bit;
        setCarry(c, (v & mask) != 0);
        if (i.sub != BT) {
            c.setReg(i.rm, i.opSize, apply(i.sub, v, mask));
        }
    }

    private static void memoryForm(Cpu c, Insn i, long ea, long bit) {
        int size = i.opSize;
        long mask = 1L << bit;
        long v;
        if (i.sub == BT) {
            v = c.mem.read(ea, size);
        } else if (i.lock) {
            do {
                v = c.mem.read(ea, size);
            } while (c.mem.compareAndExchange(ea, size, v, apply(i.sub, v, mask)) != v);
        } else {
            v = c.mem.read(ea, size);
            c.mem.write(ea, size, apply(i.sub, v, mask));
        }
        setCarry(c, (v & mask) != 0);
    }

    /** BSF/BSR: ZF set and destination unchanged for a zero source; CF OF SF AF PF undefined (cleared). */
    static void bsf(Cpu c, Insn i) {
        long v = c.readRm(i);
        if (v == 0) {
            c.setArithFlags(Flags.ZF);
            return; // the whole register is left alone, not even zero-extended at 32 bits (as AMD documents)
        }
        c.setArithFlags(0);
        c.setReg(i.reg, i.opSize, Long.numberOfTrailingZeros(v));
    }

    static void bsr(Cpu c, Insn i) {
        long v = c.readRm(i);
        if (v == 0) {
            c.setArithFlags(Flags.ZF);
            return; // the whole register is left alone, not even zero-extended at 32 bits (as AMD documents)
        }
        c.setArithFlags(0);
        c.setReg(i.reg, i.opSize, 63 - Long.numberOfLeadingZeros(v));
    }

    /** TZCNT/LZCNT: CF for a zero source, ZF for a zero result; OF SF AF PF undefined (cleared). */
    static void tzcnt(Cpu c, Insn i) {
        int bits = i.opSize * 8;
        long v = c.readRm(i);
        int n = v == 0 ? bits : Long.numberOfTrailingZeros(v);
        c.setReg(i.reg, i.opSize, n);
        c.setArithFlags((v == 0 ? Flags.CF : 0) | (n == 0 ? Flags.ZF : 0));
    }

    static void lzcnt(Cpu c, Insn i) {
        int bits = i.opSize * 8;
        long v = c.readRm(i);
        int n = Long.numberOfLeadingZeros(v) - (64 - bits);
        c.setReg(i.reg, i.opSize, n);
        c.setArithFlags((v == 0 ? Flags.CF : 0) | (n == 0 ? Flags.ZF : 0));
    }

    /** POPCNT: ZF for a zero source; the other arithmetic flags are cleared. */
    static void popcnt(Cpu c, Insn i) {
        long v = c.readRm(i);
        c.setReg(i.reg, i.opSize, Long.bitCount(v));
        c.setArithFlags(v == 0 ? Flags.ZF : 0);
    }
}
