package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.BYTE;
import static dev.hako.soft.decode.OpSpec.BYTE_RM;
import static dev.hako.soft.decode.OpSpec.IB;
import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpSpec.IV;
import static dev.hako.soft.decode.OpSpec.KEEP_66;
import static dev.hako.soft.decode.OpSpec.IZ;
import static dev.hako.soft.decode.OpSpec.LOCKABLE;
import static dev.hako.soft.decode.OpSpec.MEM_ONLY;
import static dev.hako.soft.decode.OpSpec.MODRM;
import static dev.hako.soft.decode.OpSpec.MOFFS;
import static dev.hako.soft.decode.OpSpec.OPREG;
import static dev.hako.soft.decode.OpcodeTable.ANY;
import static dev.hako.soft.decode.OpcodeTable.MAP_0F;
import static dev.hako.soft.decode.OpcodeTable.ONE_BYTE;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;

/**
 * Data transfer (SDM vol. 1 ch. 7.3.1, 7.3.16): MOV forms, MOVZX/MOVSX/MOVSXD, LEA, XCHG, CMOVcc, SETcc, BSWAP,
 * conversions, NOPs, XLAT.
 */
final class Moves {
    private Moves() {}

    static void register(OpcodeTable t) {
        t.op(ONE_BYTE, 0x88, "mov", MODRM | BYTE, IMM_NONE, 0, Moves::movEvGv);
        t.op(ONE_BYTE, 0x89, "mov", MODRM, IMM_NONE, 0, Moves::movEvGv);
        t.op(ONE_BYTE, 0x8A, "mov", MODRM | BYTE, IMM_NONE, 0, Moves::movGvEv);
        t.op(ONE_BYTE, 0x8B, "mov", MODRM, IMM_NONE, 0, Moves::movGvEv);
        t.add(ONE_BYTE, 0xC6, ANY, 0, "mov", MODRM | BYTE, IB, 0, Moves::movEvIz);
        t.add(ONE_BYTE, 0xC7, ANY, 0, "mov", MODRM, IZ, 0, Moves::movEvIz);
        for (int r = 0; r < 8; r++) {
            t.op(ONE_BYTE, 0xB0 + r, "mov", BYTE | OPREG, IB, 0, Moves::movRegImm);
            t.op(ONE_BYTE, 0xB8 + r, "mov", OPREG, IV, 0, Moves::movRegImm);
        }
        t.op(ONE_BYTE, 0xA0, "mov", BYTE, MOFFS, 0, Moves::movRaxMoffs);
        t.op(ONE_BYTE, 0xA1, "mov", 0, MOFFS, 0, Moves::movRaxMoffs);
        t.op(ONE_BYTE, 0xA2, "mov", BYTE, MOFFS, 0, Moves::movMoffsRax);
        t.op(ONE_BYTE, 0xA3, "mov", 0, MOFFS, 0, Moves::movMoffsRax);
        t.op(MAP_0F, 0xB6, "movzx", MODRM | BYTE_RM, IMM_NONE, 1, Moves::movzx);
        t.op(MAP_0F, 0xB7, "movzx", MODRM, IMM_NONE, 2, Moves::movzx);
        t.op(MAP_0F, 0xBE, "movsx", MODRM | BYTE_RM, IMM_NONE, 1, Moves::movsx);
        t.op(MAP_0F, 0xBF, "movsx", MODRM, IMM_NONE, 2, Moves::movsx);
        t.op(ONE_BYTE, 0x63, "movsxd", MODRM, IMM_NONE, 4, Moves::movsx);
        t.op(ONE_BYTE, 0x8D, "lea", MODRM | MEM_ONLY, IMM_NONE, 0, Moves::lea);
        t.op(ONE_BYTE, 0x86, "xchg", MODRM | BYTE | LOCKABLE, IMM_NONE, 0, Moves::xchgEvGv);
        t.op(ONE_BYTE, 0x87, "xchg", MODRM | LOCKABLE, IMM_NONE, 0, Moves::xchgEvGv);
        t.add(ONE_BYTE, 0x90, OpcodeTable.NP, ANY, "xchg", OPREG, IMM_NONE, 0, Moves::xchgRax);
        t.add(ONE_BYTE, 0x90, OpcodeTable.P66, ANY, "xchg", OPREG | KEEP_66, IMM_NONE, 0, Moves::xchgRax);
        t.add(ONE_BYTE, 0x90, OpcodeTable.PF2, ANY, "xchg", OPREG, IMM_NONE, 0, Moves::xchgRax);
        t.add(ONE_BYTE, 0x90, OpcodeTable.PF3, ANY, "pause", OPREG, IMM_NONE, 0, Moves::pause);
        for (int r = 1; r < 8; r++) {
            t.op(ONE_BYTE, 0x90 + r, "xchg", OPREG, IMM_NONE, 0, Moves::xchgRax);
        }
        for (int cc = 0; cc < 16; cc++) {
            t.op(MAP_0F, 0x40 + cc, "cmov", MODRM, IMM_NONE, cc, Moves::cmov);
            t.op(MAP_0F, 0x90 + cc, "set", MODRM | BYTE_RM, IMM_NONE, cc, Moves::setcc);
        }
        for (int r = 0; r < 8; r++) {
            t.op(MAP_0F, 0xC8 + r, "bswap", OPREG, IMM_NONE, 0, Moves::bswap);
        }
        t.op(ONE_BYTE, 0x98, "cbw", 0, IMM_NONE, 0, Moves::signExtendRax);
        t.op(ONE_BYTE, 0x99, "cwd", 0, IMM_NONE, 0, Moves::signExtendIntoRdx);
        for (int op = 0x18; op <= 0x1F; op++) {
            t.op(MAP_0F, op, "nop", MODRM, IMM_NONE, 0, Moves::nop);
        }
        t.op(ONE_BYTE, 0x9E, "sahf", 0, IMM_NONE, 0, Moves::sahf);
        t.op(ONE_BYTE, 0x9F, "lahf", 0, IMM_NONE, 0, Moves::lahf);
        t.op(ONE_BYTE, 0xD7, "xlat", 0, IMM_NONE, 0, Moves::xlat);
    }

    /** XLAT: AL = [rBX + AL] at the address size (67h: EBX, in 16-bit code BX), DS or the override's segment. */
    static void xlat(Cpu c, Insn i) {
        long offset = (c.r[Cpu.RBX] + (c.r[Cpu.RAX] & 0xFF)) & Cpu.addressMask(i.addrSize);
        c.setReg(Cpu.RAX, 1, c.mem.read8(offset + c.segmentBase(i.segment)));
    }

    static void nop(Cpu c, Insn i) { }

    static void pause(Cpu c, Insn i) {
        Thread.onSpinWait();
    }

    static void movEvGv(Cpu c, Insn i) {
        c.writeRm(i, c.getReg(i.reg, i.opSize));
    }

    static void movGvEv(Cpu c, Insn i) {
        c.setReg(i.reg, i.opSize, c.readRm(i));
    }

    static void movEvIz(Cpu c, Insn i) {
        c.writeRm(i, i.imm);
    }

    static void movRegImm(Cpu c, Insn i) {
        c.setReg(i.reg, i.opSize, i.imm);
    }

    private static long moffs(Cpu c, Insn i) {
        return i.disp + c.segmentBase(i.segment);
    }

    static void movRaxMoffs(Cpu c, Insn i) {
        c.setReg(Cpu.RAX, i.opSize, c.mem.read(moffs(c, i), i.opSize));
    }

    static void movMoffsRax(Cpu c, Insn i) {
        c.mem.write(moffs(c, i), i.opSize, c.getReg(Cpu.RAX, i.opSize));
    }

    /** MOVZX; {@code sub} is the source size. */
    static void movzx(Cpu c, Insn i) {
        c.setReg(i.reg, i.opSize, c.readRm(i, i.sub));
    }

    /** MOVSX and MOVSXD; {@code sub} is the source size. */
    static void movsx(Cpu c, Insn i) {
        int shift = 64 - 8 * i.sub;
        long v = c.readRm(i, Math.min(i.sub, i.opSize));
        c.setReg(i.reg, i.opSize, v << shift >> shift);
    }

    static void lea(Cpu c, Insn i) {
        long a = i.disp;
        if (i.base >= 0) {
            a += c.r[i.base];
        }
        if (i.index >= 0) {
            a += c.r[i.index] << i.scale;
        }
        c.setReg(i.reg, i.opSize, a & Cpu.addressMask(i.addrSize));
    }

    /** XCHG with memory is always locked. */
    static void xchgEvGv(Cpu c, Insn i) {
        int size = i.opSize;
        long regValue = c.getReg(i.reg, size);
        if (i.rmIsReg) {
            long other = c.getReg(i.rm, size);
            c.setReg(i.rm, size, regValue);
            c.setReg(i.reg, size, other);
            return;
        }
        long ea = c.ea(i);
        long old;
        do {
            old = c.mem.read(ea, size);
        } while (c.mem.compareAndExchange(ea, size, old, regValue) != old);
        c.setReg(i.reg, size, old);
    }

    static void xchgRax(Cpu c, Insn i) {
        int size = i.opSize;
        if (i.reg == Cpu.RAX) {
            return; // 90 is NOP, even as 'xchg eax, eax': no zero-extension
        }
        long a = c.getReg(Cpu.RAX, size);
        c.setReg(Cpu.RAX, size, c.getReg(i.reg, size));
        c.setReg(i.reg, size, a);
    }

    static void cmov(Cpu c, Insn i) {
        long v = c.readRm(i); // the source is read (and may fault) whether or not the move happens
        if (Flags.condition(c, i.sub)) {
            c.setReg(i.reg, i.opSize, v);
        } else if (i.opSize == 4) {
            c.r[i.reg] &= 0xFFFFFFFFL;
        }
    }

    static void setcc(Cpu c, Insn i) {
        c.writeRm(i, 1, Flags.condition(c, i.sub) ? 1 : 0);
    }

    static void bswap(Cpu c, Insn i) {
        switch (i.opSize) {
            case 8 -> c.r[i.reg] = Long.reverseBytes(c.r[i.reg]);
            case 4 -> c.r[i.reg] = Integer.reverseBytes((int) c.r[i.reg]) & 0xFFFFFFFFL;
            default -> c.setReg(i.reg, 2, 0); // 16-bit BSWAP is undefined; hardware zeroes the word
        }
    }

    /** CBW, CWDE, CDQE. */
    static void signExtendRax(Cpu c, Insn i) {
        int half = i.opSize / 2;
        int shift = 64 - 8 * half;
        c.setReg(Cpu.RAX, i.opSize, c.r[Cpu.RAX] << shift >> shift);
    }

    /** CWD, CDQ, CQO. */
    static void signExtendIntoRdx(Cpu c, Insn i) {
        long sign = (c.getReg(Cpu.RAX, i.opSize) & Flags.signBit(i.opSize)) != 0 ? -1L : 0;
        c.setReg(Cpu.RDX, i.opSize, sign);
    }

    static void sahf(Cpu c, Insn i) {
        long ah = (c.r[Cpu.RAX] >>> 8) & 0xFF;
        long keep = Flags.arith(c) & Flags.OF;
        c.setArithFlags(keep | (ah & (Flags.SF | Flags.ZF | Flags.AF | Flags.PF | Flags.CF)));
    }

    static void lahf(Cpu c, Insn i) {
        long f = (c.rflags() & 0xD5) | 2;
        c.r[Cpu.RAX] = (c.r[Cpu.RAX] & ~0xFF00L) | (f << 8);
    }
}
