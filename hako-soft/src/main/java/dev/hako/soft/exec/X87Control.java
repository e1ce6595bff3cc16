package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpSpec.MEM_ONLY;
import static dev.hako.soft.decode.OpSpec.MODRM;
import static dev.hako.soft.decode.OpcodeTable.ANY;
import static dev.hako.soft.decode.OpcodeTable.MAP_0F;
import static dev.hako.soft.decode.OpcodeTable.ONE_BYTE;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;
import dev.hako.soft.fault.CpuFault;

/**
 * x87 control and state management (SDM vol. 1 8.3.12-8.3.13, 10.5): FNSTCW FLDCW FNSTSW FNCLEX FNINIT FWAIT
 * FNSTENV FLDENV FNSAVE FRSTOR (protected-mode 32-bit layout, and the 16-bit one under 66h), FXSAVE FXRSTOR.
 * The "no-wait" forms do not check for pending exceptions; the waiting forms are FWAIT followed by them.
 * Selectors (FCS, FDS) are stored as zero.
 */
final class X87Control {
    private X87Control() {}

    static void register(OpcodeTable t) {
        t.op(ONE_BYTE, 0x9B, "fwait", 0, IMM_NONE, 0, X87Control::await);
        t.addForm(ONE_BYTE, 0xD9, ANY, 4, "fldenv", MODRM | MEM_ONLY, IMM_NONE, 0, X87Control::loadEnvironment);
        t.addForm(ONE_BYTE, 0xD9, ANY, 5, "fldcw", MODRM | MEM_ONLY, IMM_NONE, 0, X87Control::loadControlWord);
        t.addForm(ONE_BYTE, 0xD9, ANY, 6, "fnstenv", MODRM | MEM_ONLY, IMM_NONE, 0, X87Control::storeEnvironment);
        t.addForm(ONE_BYTE, 0xD9, ANY, 7, "fnstcw", MODRM | MEM_ONLY, IMM_NONE, 0, X87Control::storeControlWord);
        t.addForm(ONE_BYTE, 0xDD, ANY, 4, "frstor", MODRM | MEM_ONLY, IMM_NONE, 0, X87Control::restore);
        t.addForm(ONE_BYTE, 0xDD, ANY, 6, "fnsave", MODRM | MEM_ONLY, IMM_NONE, 0, X87Control::save);
        t.addForm(ONE_BYTE, 0xDD, ANY, 7, "fnstsw", MODRM | MEM_ONLY, IMM_NONE, 0, X87Control::storeStatusWord);
        t.addRm(ONE_BYTE, 0xDF, 4, 0, "fnstsw", 0, X87Control::storeStatusWordAx);
        t.addRm(ONE_BYTE, 0xDB, 4, 0, "feni", 0, X87Control::ignored);
        t.addRm(ONE_BYTE, 0xDB, 4, 1, "fdisi", 0, X87Control::ignored);
        t.addRm(ONE_BYTE, 0xDB, 4, 2, "fnclex", 0, X87Control::clearExceptions);
        t.addRm(ONE_BYTE, 0xDB, 4, 3, "fninit", 0, X87Control::initialize);
        t.addRm(ONE_BYTE, 0xDB, 4, 4, "fsetpm", 0, X87Control::ignored);
        t.addForm(MAP_0F, 0xAE, ANY, 0, "fxsave", MODRM | MEM_ONLY, IMM_NONE, 0, X87Control::fxsave);
        t.addForm(MAP_0F, 0xAE, ANY, 1, "fxrstor", MODRM | MEM_ONLY, IMM_NONE, 0, X87Control::fxrstor);
    }

    static void await(Cpu c, Insn i) {
        X87Operands.checkPending(c);
    }

    static void ignored(Cpu c, Insn i) {
    }

    /** ES and B follow whether any pending exception is unmasked. */
    private static void updateSummary(X87 x) {
        if ((x.fsw & ~x.fcw & X87.EXCEPTIONS) != 0) {
            x.fsw |= X87.ES | X87.B;
        } else {
            x.fsw &= ~(X87.ES | X87.B);
        }
    }

    static void loadControlWord(Cpu c, Insn i) {
        X87 x = c.fpu;
        x.fcw = (c.mem.read16(c.ea(i)) & 0x1F3F) | 0x40;
        updateSummary(x);
    }

    static void storeControlWord(Cpu c, Insn i) {
        c.mem.write16(c.ea(i), c.fpu.fcw);
    }

    static void storeStatusWord(Cpu c, Insn i) {
        c.mem.write16(c.ea(i), c.fpu.statusWord());
    }

    static void storeStatusWordAx(Cpu c, Insn i) {
        c.setReg(Cpu.RAX, 2, c.fpu.statusWord());
    }

    static void clearExceptions(Cpu c, Insn i) {
        c.fpu.fsw &= ~(0xFF | X87.B);
    }

    static void initialize(Cpu c, Insn i) {
        c.fpu.reset();
    }

    /** Writes the environment; returns its size (28 bytes, or 14 with a 16-bit operand size). */
    private static int writeEnvironment(Cpu c, long ea, boolean small) {
        X87 x = c.fpu;
        int unit = small ? 2 : 4;
        c.mem.write(ea, unit, x.fcw | (small ? 0 : 0xFFFF0000L));
        c.mem.write(ea + unit, unit, x.statusWord() | (small ? 0 : 0xFFFF0000L));
        c.mem.write(ea + 2 * unit, unit, x.fullTagWord() | (small ? 0 : 0xFFFF0000L));
        c.mem.write(ea + 3 * unit, unit, x.lastIp);
        c.mem.write(ea + 4 * unit, unit, small ? 0 : (long) (x.lastOpcode & 0x7FF) << 16);
        c.mem.write(ea + 5 * unit, unit, x.lastDp);
        c.mem.write(ea + 6 * unit, unit, small ? 0 : 0xFFFF0000L);
        return 7 * unit;
    }

    private static int readEnvironment(Cpu c, long ea, boolean small) {
        X87 x = c.fpu;
        int unit = small ? 2 : 4;
        int fcw = (int) c.mem.read(ea, 2);
        int fsw = (int) c.mem.read(ea + unit, 2);
        int ftw = (int) c.mem.read(ea + 2 * unit, 2);
        long ip = c.mem.read(ea + 3 * unit, unit);
        int op = small ? 0 : (int) (c.mem.read(ea + 4 * unit, 4) >>> 16) & 0x7FF;
        long dp = c.mem.read(ea + 5 * unit, unit);
        x.fcw = (fcw & 0x1F3F) | 0x40;
        x.setStatusWord(fsw);
        x.setFullTagWord(ftw);
        x.lastIp = ip;
        x.lastOpcode = op;
        x.lastDp = dp;
        updateSummary(x);
        return 7 * unit;
    }

    static void storeEnvironment(Cpu c, Insn i) {
        writeEnvironment(c, c.ea(i), i.opSize == 2);
        c.fpu.fcw |= X87.EXCEPTIONS;
        updateSummary(c.fpu);
    }

    static void loadEnvironment(Cpu c, Insn i) {
        readEnvironment(c, c.ea(i), i.opSize == 2);
    }

    static void save(Cpu c, Insn i) {
        X87 x = c.fpu;
        long ea = c.ea(i);
        long p = ea + writeEnvironment(c, ea, i.opSize == 2);
        for (int n = 0; n < 8; n++, p += 10) {
            X87Operands.write80(c, p, x.se(n), x.sig(n));
        }
        x.reset();
    }

    static void restore(Cpu c, Insn i) {
        X87 x = c.fpu;
        long ea = c.ea(i);
        long p = ea + readEnvironment(c, ea, i.opSize == 2);
        for (int n = 0; n < 8; n++, p += 10) {
            int phys = x.physical(n);
            x.significand[phys] = c.mem.read64(p);
            x.signExponent[phys] = c.mem.read16(p + 8);
        }
    }

    static void fxsave(Cpu c, Insn i) {
        long ea = c.ea(i);
        if ((ea & 15) != 0) {
            throw c.fault(CpuFault.GP, 0);
        }
        byte[] area = c.fpu.fxsaveScratch;
        FxsaveArea.store(c, area, i.rexW);
        c.mem.writeBytes(ea, area, 0, FxsaveArea.WRITTEN);
    }

    static void fxrstor(Cpu c, Insn i) {
        long ea = c.ea(i);
        if ((ea & 15) != 0) {
            throw c.fault(CpuFault.GP, 0);
        }
        byte[] area = c.fpu.fxsaveScratch;
        c.mem.readBytes(ea, area, 0, FxsaveArea.WRITTEN);
        if (!FxsaveArea.mxcsrValid(area)) {
            throw c.fault(CpuFault.GP, 0);
        }
        FxsaveArea.load(c, area, i.rexW);
    }
}
