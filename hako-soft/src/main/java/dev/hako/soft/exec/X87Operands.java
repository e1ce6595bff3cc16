package dev.hako.soft.exec;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.fpu.Conversion;
import dev.hako.soft.fpu.Extended80;

/**
 * What every x87 instruction shares: the pending-exception check of waiting instructions, FOP/FIP/FDP
 * bookkeeping, loading memory operands into the arithmetic unit, stack faults, and merging an operation's
 * exception bits into the FSW with the masked or unmasked response (SDM vol. 1 8.5 and 8.6).
 */
final class X87Operands {
    /** Memory operand formats, as the ModRM.reg rows of the escape opcodes name them. */
    static final int M32_REAL = 0, M32_INT = 1, M64_REAL = 2, M16_INT = 3, M64_INT = 4, M80_REAL = 5;

    private X87Operands() {}

    /**
     * Starts a waiting x87 instruction: raises #MF for a pending unmasked exception, records FOP, FIP and
     * FDP, and readies the arithmetic unit with the FCW's controls and cleared flags.
     */
    static Extended80 begin(Cpu c, Insn i) {
        X87 x = c.fpu;
        if ((x.fsw & X87.ES) != 0) {
            throw c.fault(CpuFault.MF);
        }
        x.lastIp = i.addr;
        x.lastOpcode = ((i.opcode & 7) << 8) | i.modrm;
        if (!i.rmIsReg) {
            x.lastDp = c.ea(i);
        }
        return control(x);
    }

    /** Readies the arithmetic unit without the bookkeeping of {@link #begin}. */
    static Extended80 control(X87 x) {
        Extended80 f = x.alu;
        f.flags = 0;
        f.setControl(x.fcw);
        return f;
    }

    /** The pending-exception check alone (FWAIT and the waiting forms of control instructions). */
    static void checkPending(Cpu c) {
        if ((c.fpu.fsw & X87.ES) != 0) {
            throw c.fault(CpuFault.MF);
        }
    }

    /**
     * Merges the exception bits and C1 of the last operation into the FSW. Returns whether the destination
     * may be written: not when an unmasked invalid-operation, denormal or zero-divide exception occurred.
     */
    static boolean finish(X87 x, Extended80 f) {
        int flags = f.flags;
        int fsw = (x.fsw & ~X87.C1) | (flags & (X87.EXCEPTIONS | X87.SF | X87.C1));
        int unmasked = flags & X87.EXCEPTIONS & ~x.fcw;
        if (unmasked != 0) {
            fsw |= X87.ES | X87.B;
        }
        x.fsw = fsw;
        return (unmasked & (X87.IE | X87.DE | X87.ZE)) == 0;
    }

    /** Stack underflow: IE and SF with C1 clear; the masked response is the real indefinite. */
    static void underflow(Extended80 f) {
        f.flags = (f.flags & ~X87.C1) | X87.IE | X87.SF;
        f.se = Extended80.INDEFINITE_SE;
        f.sig = Extended80.INDEFINITE_SIG;
    }

    /**
     * Pushes f.se/f.sig, or on stack overflow (ST(7) valid) raises IE and SF with C1 set and, when masked,
     * pushes the real indefinite. Call before {@link #finish}.
     */
    static void push(X87 x, Extended80 f) {
        if (!x.isEmpty(7)) {
            f.flags |= X87.IE | X87.SF | X87.C1;
            if ((x.fcw & X87.IE) != 0) {
                x.push(Extended80.INDEFINITE_SE, Extended80.INDEFINITE_SIG);
            }
            return;
        }
        x.push(f.se, f.sig);
    }

    /** Loads a memory operand of {@code format} into f.se/f.sig (FLD conversions and arithmetic sources). */
    static void load(Cpu c, Insn i, Extended80 f, int format) {
        load(c, i, f, format, false);
    }

    /**
     * With {@code asOperand}, a single or double source of arithmetic keeps an SNaN signaling and leaves its
     * denormal-operand exception to {@link #operandDenormal}.
     */
    static void load(Cpu c, Insn i, Extended80 f, int format, boolean asOperand) {
        long ea = c.ea(i);
        f.denormalSource = false;
        switch (format) {
            case M32_REAL -> {
                if (asOperand) {
                    Conversion.operandFromFloat(f, (int) c.mem.read32(ea));
                } else {
                    Conversion.fromFloat(f, (int) c.mem.read32(ea));
                }
            }
            case M64_REAL -> {
                if (asOperand) {
                    Conversion.operandFromDouble(f, c.mem.read64(ea));
                } else {
                    Conversion.fromDouble(f, c.mem.read64(ea));
                }
            }
            case M16_INT -> Conversion.fromInteger(f, (short) c.mem.read16(ea));
            case M32_INT -> Conversion.fromInteger(f, (int) c.mem.read32(ea));
            case M64_INT -> Conversion.fromInteger(f, c.mem.read64(ea));
            default -> {
                long sig = c.mem.read64(ea);
                f.se = c.mem.read16(ea + 8);
                f.sig = sig;
            }
        }
    }

    /**
     * The denormal-operand exception of a denormal single or double source, raised after the operation
     * unless a higher-priority invalid-operation or zero-divide exception or a NaN operand took over.
     */
    static void operandDenormal(Extended80 f, int seX, long sigX) {
        if (f.denormalSource && (f.flags & (X87.IE | X87.ZE)) == 0
                && !Extended80.isNaN(Extended80.classify(seX, sigX))) {
            f.flags |= X87.DE;
        }
    }

    static void write80(Cpu c, long ea, int se, long sig) {
        c.mem.write64(ea, sig);
        c.mem.write16(ea + 8, se);
    }
}
