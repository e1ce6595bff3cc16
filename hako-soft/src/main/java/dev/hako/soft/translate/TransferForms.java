package dev.hako.soft.translate;

import static java.lang.constant.ConstantDescs.CD_Integer;
import static java.lang.constant.ConstantDescs.CD_Long;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_long;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.exec.Cpu;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.Label;
import java.lang.constant.MethodTypeDesc;

/**
 * Inline bytecode for data transfer and control: MOV forms, MOVZX/MOVSX/MOVSXD, LEA, XCHG of registers,
 * CMOVcc, SETcc, BSWAP, CBW/CWD families, PUSH/POP of registers and immediates, JMP, Jcc, CALL and RET.
 * Stack forms are inlined only with 64-bit operands (the long-mode default).
 */
final class TransferForms {
    private TransferForms() {}

    /** 88/89 mov Ev,Gv. */
    static void movStore(BlockEmitter e, Insn i) {
        e.begin();
        if (i.rmIsReg) {
            e.getReg(i.reg, i.opSize);
            e.setReg(i.rm, i.opSize);
        } else {
            e.memRef();
            e.ea(i);
            e.getReg(i.reg, i.opSize);
            e.writeCall(i.opSize);
        }
        e.end();
    }

    /** Pushes the r/m operand at {@code size}, zero-extended. */
    static void readRm(BlockEmitter e, Insn i, int size) {
        if (i.rmIsReg) {
            e.getReg(i.rm, size);
        } else {
            e.read(i, size);
        }
    }

    /** 8A/8B mov Gv,Ev; 0F B6/B7 movzx ({@code sourceSize} 1 or 2). */
    static void movLoad(BlockEmitter e, Insn i, int sourceSize) {
        e.begin();
        readRm(e, i, sourceSize);
        e.setReg(i.reg, i.opSize);
        e.end();
    }

    /** 0F BE/BF movsx and 63 movsxd: {@code sub} is the source size. */
    static void movsx(BlockEmitter e, Insn i) {
        e.begin();
        readRm(e, i, Math.min(i.sub, i.opSize));
        e.signExtend(i.sub);
        e.setReg(i.reg, i.opSize);
        e.end();
    }

    /** C6/C7 /0 mov Ev,imm. */
    static void movImmediate(BlockEmitter e, Insn i) {
        e.begin();
        if (i.rmIsReg) {
            e.cob.loadConstant(i.imm);
            e.setReg(i.rm, i.opSize);
        } else {
            e.memRef();
            e.ea(i);
            e.cob.loadConstant(i.imm);
            e.writeCall(i.opSize);
        }
        e.end();
    }

    /** B0..BF mov r,imm. */
    static void movRegImmediate(BlockEmitter e, Insn i) {
        e.begin();
        e.cob.loadConstant(i.imm);
        e.setReg(i.reg, i.opSize);
        e.end();
    }

    /** 8D lea: the offset, without segment base, at the address size. */
    static void lea(BlockEmitter e, Insn i) {
        e.begin();
        e.offset(i);
        e.setReg(i.reg, i.opSize);
        e.end();
    }

    /** 86/87 xchg with a register operand (the memory form is locked and falls back). */
    static boolean xchg(BlockEmitter e, Insn i, int reg, int other) {
        if (!"xchg".equals(i.spec.mnemonic)) {
            return false;
        }
        CodeBuilder cob = e.cob;
        e.begin();
        if (reg != other || i.opcode != 0x90) { // 90 is NOP, even as 'xchg eax, eax'
            int size = i.opSize;
            int first = e.newLong();
            int second = e.newLong();
            e.getReg(reg, size);
            cob.lstore(first);
            e.getReg(other, size);
            cob.lstore(second);
            cob.lload(first);
            e.setReg(other, size);
            cob.lload(second);
            e.setReg(reg, size);
        }
        e.end();
        return true;
    }

    /** 0F 40+cc cmov: the source is read (and may fault) whether or not the move happens. */
    static void cmov(BlockEmitter e, Insn i) {
        CodeBuilder cob = e.cob;
        int cc = i.sub;
        e.flags.prepareCondition(cc);
        e.begin();
        int value = e.newLong();
        readRm(e, i, i.opSize);
        cob.lstore(value);
        e.preload(i.reg); // loaded outside the branches below
        Label move = cob.newLabel();
        Label done = cob.newLabel();
        e.flags.branchIf(cc, move);
        e.reg64(i.reg);
        cob.goto_(done);
        cob.labelBinding(move);
        cob.lload(value);
        cob.labelBinding(done);
        e.setReg(i.reg, i.opSize); // the old value rewritten: unchanged, or zero-extended at 32 bits
        e.end();
    }

    /** 0F 90+cc setcc. */
    static void setcc(BlockEmitter e, Insn i) {
        int cc = i.sub;
        e.flags.prepareCondition(cc);
        e.begin();
        if (i.rmIsReg) {
            e.flags.pushCondition(cc);
            e.cob.i2l();
            e.setReg(i.rm, 1);
        } else {
            e.memRef();
            e.ea(i);
            e.flags.pushCondition(cc);
            e.cob.i2l();
            e.writeCall(1);
        }
        e.end();
    }

    /** 0F C8+r bswap (16-bit: undefined, hardware zeroes the word). */
    static void bswap(BlockEmitter e, Insn i) {
        CodeBuilder cob = e.cob;
        e.begin();
        switch (i.opSize) {
            case 8 -> {
                e.reg64(i.reg);
                cob.invokestatic(CD_Long, "reverseBytes", MethodTypeDesc.of(CD_long, CD_long));
            }
            case 4 -> {
                e.reg64(i.reg);
                cob.l2i().invokestatic(CD_Integer, "reverseBytes",
                        MethodTypeDesc.of(CD_int, CD_int)).i2l();
            }
            default -> cob.lconst_0();
        }
        e.setReg(i.reg, i.opSize);
        e.end();
    }

    /** 98 CBW/CWDE/CDQE. */
    static void signExtendRax(BlockEmitter e, Insn i) {
        e.begin();
        e.reg64(Cpu.RAX);
        e.signExtend(i.opSize / 2);
        e.setReg(Cpu.RAX, i.opSize);
        e.end();
    }

    /** 99 CWD/CDQ/CQO. */
    static void signExtendIntoRdx(BlockEmitter e, Insn i) {
        e.begin();
        e.getReg(Cpu.RAX, i.opSize);
        e.cob.bipush(64 - 8 * i.opSize).lshl().bipush(63).lshr();
        e.setReg(Cpu.RDX, i.opSize);
        e.end();
    }

    // ---- stack and control (64-bit operands) ----

    /** Stores the long the {@code value} callback pushes at RSP-8, then lowers RSP. */
    private static void push(BlockEmitter e, Runnable value) {
        CodeBuilder cob = e.cob;
        e.memRef();
        e.reg64(Cpu.RSP);
        cob.loadConstant(8L).lsub();
        value.run();
        e.writeCall(8);
        e.reg64(Cpu.RSP);
        cob.loadConstant(8L).lsub();
        e.setReg(Cpu.RSP, 8);
    }

    /** 50+r push r, 68/6A push imm. */
    static boolean push(BlockEmitter e, Insn i, boolean immediate) {
        if (i.opSize != 8) {
            return false;
        }
        e.begin();
        if (immediate) {
            push(e, () -> e.cob.loadConstant(i.imm));
        } else {
            int value = e.newLong();
            e.reg64(i.reg);
            e.cob.lstore(value);
            push(e, () -> e.cob.lload(value));
        }
        e.end();
        return true;
    }

    /** 58+r pop r: RSP moves first, so POP RSP loads the popped value. */
    static boolean pop(BlockEmitter e, Insn i) {
        if (i.opSize != 8) {
            return false;
        }
        CodeBuilder cob = e.cob;
        e.begin();
        int value = e.newLong();
        e.memRef();
        e.reg64(Cpu.RSP);
        e.readCall(8);
        cob.lstore(value);
        e.reg64(Cpu.RSP);
        cob.loadConstant(8L).ladd();
        e.setReg(Cpu.RSP, 8);
        cob.lload(value);
        e.setReg(i.reg, 8);
        e.end();
        return true;
    }

    /** EB/E9 jmp rel. */
    static void jmp(BlockEmitter e, Insn i) {
        e.begin();
        e.cpu();
        e.cob.loadConstant(i.imm);
        e.putRip();
        e.end();
    }

    /** 70+cc, 0F 80+cc jcc. */
    static void jcc(BlockEmitter e, Insn i) {
        CodeBuilder cob = e.cob;
        e.flags.prepareCondition(i.sub);
        e.begin();
        Label taken = cob.newLabel();
        Label set = cob.newLabel();
        e.cpu();
        e.flags.branchIf(i.sub, taken);
        cob.loadConstant(i.next).goto_(set);
        cob.labelBinding(taken);
        cob.loadConstant(i.imm);
        cob.labelBinding(set);
        e.putRip();
        e.end();
    }

    /** E8 call rel, FF /2 call Ev. */
    static boolean call(BlockEmitter e, Insn i, boolean indirect) {
        if (i.opSize != 8) {
            return false;
        }
        CodeBuilder cob = e.cob;
        e.begin();
        int target = e.newLong();
        if (indirect) {
            readRm(e, i, 8);
            e.canonicalTarget();
        } else {
            cob.loadConstant(i.imm);
        }
        cob.lstore(target);
        push(e, () -> cob.loadConstant(i.next));
        e.cpu();
        cob.lload(target);
        e.putRip();
        e.end();
        return true;
    }

    /** FF /4 jmp Ev. */
    static boolean jmpIndirect(BlockEmitter e, Insn i) {
        if (i.opSize != 8) {
            return false;
        }
        e.begin();
        e.cpu();
        readRm(e, i, 8);
        e.canonicalTarget();
        e.putRip();
        e.end();
        return true;
    }

    /** C3 ret, C2 ret imm16. */
    static boolean ret(BlockEmitter e, Insn i) {
        if (i.opSize != 8) {
            return false;
        }
        CodeBuilder cob = e.cob;
        e.begin();
        int target = e.newLong();
        e.memRef();
        e.reg64(Cpu.RSP);
        e.readCall(8);
        e.canonicalTarget();
        cob.lstore(target);
        e.reg64(Cpu.RSP);
        cob.loadConstant(8L + (i.imm & 0xFFFF)).ladd();
        e.setReg(Cpu.RSP, 8);
        e.cpu();
        cob.lload(target);
        e.putRip();
        e.end();
        return true;
    }
}
