package dev.hako.soft.translate;

import static java.lang.constant.ConstantDescs.CD_Long;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_long;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.exec.Cpu;
import dev.hako.soft.fault.CpuFault;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.Label;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;

/**
 * Inline bytecode for the widening multiplies and unsigned division: F6/F7 /4 MUL and /5 IMUL (rDX:rAX =
 * rAX * r/m; a 64-bit product's high half from {@link Math#unsignedMultiplyHigh} or
 * {@link Math#multiplyHigh}), and /6 DIV with #DE for a zero divisor or a quotient that does not fit. DIV
 * leaves the flags as they were, as the interpreter does (the SDM leaves them undefined).
 */
final class MultiplyForms {
    private static final ClassDesc CD_MATH = ClassDesc.of("java.lang.Math");
    private static final ClassDesc CD_WIDE = ClassDesc.of("dev.hako.soft.exec.Wide");
    private static final MethodTypeDesc LONG_LONG_TO_LONG = MethodTypeDesc.of(CD_long, CD_long, CD_long);

    private MultiplyForms() {}

    /** MUL ({@code signed} false) and one-operand IMUL. */
    static boolean wideMultiply(BlockEmitter e, Insn i, boolean signed) {
        if (!(signed ? "imul" : "mul").equals(i.spec.mnemonic)) {
            return false;
        }
        CodeBuilder cob = e.cob;
        int size = i.opSize;
        e.begin();
        int source = e.newLong();
        int a = e.newLong();
        int low = e.newLong();
        int overflow = e.newLong();
        TransferForms.readRm(e, i, size);
        if (signed) {
            e.signExtend(size);
        }
        cob.lstore(source);
        e.getReg(Cpu.RAX, size);
        if (signed) {
            e.signExtend(size);
        }
        cob.lstore(a);
        cob.lload(a).lload(source).lmul().lstore(low);
        if (size == 8) {
            int high = e.newLong();
            cob.lload(a).lload(source)
                    .invokestatic(CD_MATH, signed ? "multiplyHigh" : "unsignedMultiplyHigh", LONG_LONG_TO_LONG)
                    .lstore(high);
            cob.lload(high);
            if (signed) {
                cob.lload(low).bipush(63).lshr();
            } else {
                cob.lconst_0();
            }
            cob.lcmp().i2l().lstore(overflow); // non-zero when the high half is significant
            cob.lload(low);
            e.setReg(Cpu.RAX, 8);
            cob.lload(high);
            e.setReg(Cpu.RDX, 8);
        } else {
            int bits = size * 8;
            // The whole product fits in a long: the high part is above bit 'bits'.
            if (signed) {
                cob.lload(low);
                e.signExtend(size);
                cob.lload(low);
            } else {
                cob.lload(low).bipush(bits).lushr().lconst_0();
            }
            cob.lcmp().i2l().lstore(overflow);
            cob.lload(low);
            if (size == 1) {
                e.setReg(Cpu.RAX, 2);
            } else {
                e.setReg(Cpu.RAX, size);
                cob.lload(low).bipush(bits).lushr();
                e.setReg(Cpu.RDX, size);
            }
        }
        e.flags.add(new FlagChain.Producer(FlagChain.WIDE_MUL, size, low, -1, overflow, 0, 0));
        e.end();
        return true;
    }

    /** DIV: unsigned rDX:rAX / r/m, quotient to rAX and remainder to rDX (AL and AH from AX for bytes). */
    static boolean divide(BlockEmitter e, Insn i) {
        if (!"div".equals(i.spec.mnemonic)) {
            return false;
        }
        CodeBuilder cob = e.cob;
        int size = i.opSize;
        e.begin();
        int divisor = e.newLong();
        int quotient = e.newLong();
        int remainder = e.newLong();
        TransferForms.readRm(e, i, size);
        cob.lstore(divisor);
        if (size == 8) {
            int high = e.newLong();
            int low = e.newLong();
            e.reg64(Cpu.RDX);
            cob.lstore(high);
            e.reg64(Cpu.RAX);
            cob.lstore(low);
            // The quotient fits exactly when high < divisor (unsigned), which also excludes a zero divisor.
            Label fits = cob.newLabel();
            cob.lload(high).lload(divisor).invokestatic(CD_Long, "compareUnsigned",
                    MethodTypeDesc.of(CD_int, CD_long, CD_long)).iflt(fits);
            e.raise(CpuFault.DE, -1);
            cob.labelBinding(fits);
            Label wide = cob.newLabel();
            Label done = cob.newLabel();
            cob.lload(high).lconst_0().lcmp().ifne(wide);
            cob.lload(low).lload(divisor).invokestatic(CD_Long, "divideUnsigned", LONG_LONG_TO_LONG).goto_(done);
            cob.labelBinding(wide);
            cob.lload(high).lload(low).lload(divisor).invokestatic(CD_WIDE, "quotientUnsigned",
                    MethodTypeDesc.of(CD_long, CD_long, CD_long, CD_long));
            cob.labelBinding(done);
            cob.lstore(quotient);
            cob.lload(low).lload(quotient).lload(divisor).lmul().lsub().lstore(remainder);
        } else {
            int bits = size * 8;
            int dividend = e.newLong();
            if (size == 1) {
                e.getReg(Cpu.RAX, 2);
            } else {
                e.getReg(Cpu.RDX, size);
                cob.bipush(bits).lshl();
                e.getReg(Cpu.RAX, size);
                cob.lor();
            }
            cob.lstore(dividend);
            Label nonZero = cob.newLabel();
            cob.lload(divisor).lconst_0().lcmp().ifne(nonZero);
            e.raise(CpuFault.DE, -1);
            cob.labelBinding(nonZero);
            cob.lload(dividend).lload(divisor).invokestatic(CD_Long, "divideUnsigned", LONG_LONG_TO_LONG)
                    .lstore(quotient);
            Label fits = cob.newLabel();
            cob.lload(quotient).bipush(bits).lushr().lconst_0().lcmp().ifeq(fits);
            e.raise(CpuFault.DE, -1);
            cob.labelBinding(fits);
            cob.lload(dividend).lload(quotient).lload(divisor).lmul().lsub().lstore(remainder);
        }
        if (size == 1) {
            cob.lload(remainder).bipush(8).lshl().lload(quotient).lor();
            e.setReg(Cpu.RAX, 2);
        } else {
            cob.lload(quotient);
            e.setReg(Cpu.RAX, size);
            cob.lload(remainder);
            e.setReg(Cpu.RDX, size);
        }
        e.end();
        return true;
    }
}
