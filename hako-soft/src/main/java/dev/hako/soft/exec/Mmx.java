package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpcodeTable.ANY;
import static dev.hako.soft.decode.OpcodeTable.MAP_0F;
import static dev.hako.soft.decode.OpcodeTable.NP;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;
import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.ControlRegisters;

/**
 * The MMX registers and their aliasing with the x87 unit (SDM vol. 1 9.5, vol. 3 12.2 and 12.5), and EMMS.
 * MM0-MM7 are the 64-bit significands of the physical x87 registers R0-R7, so they live in
 * {@link X87#significand}; REX.R and REX.B do not reach further registers (the number is taken modulo 8).
 *
 * <p>An instruction that touches an MMX register first calls {@link #check}: #UD when CR0.EM is set, #NM
 * when CR0.TS is, and #MF for a pending unmasked x87 exception, before any of its operands is read. Once
 * everything that can fault is done it writes through {@link #set} (which also sets bits 79:64 of the
 * physical register to all ones) or calls {@link #touched}: either puts the x87 unit in MMX mode, TOP = 0
 * and every tag valid. FCW, FIP, FDP, FOP and the other FSW bits are left alone. EMMS, an MMX instruction
 * too, sets TOP = 0 and empties every tag.
 */
final class Mmx {
    /** Bits 79:64 of a physical register an MMX instruction wrote: sign and exponent all ones. */
    static final int WRITTEN_SIGN_EXPONENT = 0xFFFF;
    private static final int ALL_TAGS = 0xFF;

    private Mmx() {}

    static void register(OpcodeTable t) {
        t.add(MAP_0F, 0x77, NP, ANY, "emms", 0, IMM_NONE, 0, Mmx::emms);
    }

    /** The checks every MMX instruction makes before anything else. */
    static void check(Cpu c) {
        long cr0 = c.sys.cr.cr0;
        if ((cr0 & ControlRegisters.CR0_EM) != 0) {
            throw c.fault(CpuFault.UD);
        }
        if ((cr0 & ControlRegisters.CR0_TS) != 0) {
            throw c.fault(CpuFault.NM);
        }
        X87Operands.checkPending(c);
    }

    /** Register MM{@code reg}. */
    static long get(Cpu c, int reg) {
        return c.fpu.significand[reg & 7];
    }

    /** An mm/m64 source: the r/m register or 8 bytes of memory (no alignment required). */
    static long src(Cpu c, Insn i) {
        return i.rmIsReg ? get(c, i.rm) : c.mem.read64(c.ea(i));
    }

    /** An mm/m32 source (the low interleaves): the register, or 4 bytes of memory zero-extended. */
    static long src32(Cpu c, Insn i) {
        return i.rmIsReg ? get(c, i.rm) : c.mem.read32(c.ea(i));
    }

    /** Writes MM{@code reg} and enters MMX mode. */
    static void set(Cpu c, int reg, long value) {
        X87 x = c.fpu;
        x.significand[reg & 7] = value;
        x.signExponent[reg & 7] = WRITTEN_SIGN_EXPONENT;
        touched(c);
    }

    /** Enters MMX mode without writing a register (an MMX source, a store, MASKMOVQ). */
    static void touched(Cpu c) {
        X87 x = c.fpu;
        x.top = 0;
        x.tags = ALL_TAGS;
    }

    /** EMMS: every tag empty, TOP = 0 (as for every MMX instruction), the registers as they are. */
    static void emms(Cpu c, Insn i) {
        check(c);
        c.fpu.top = 0;
        c.fpu.tags = 0;
    }
}
