package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.D64;
import static dev.hako.soft.decode.OpSpec.IB;
import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpSpec.IW_IB;
import static dev.hako.soft.decode.OpSpec.IZ;
import static dev.hako.soft.decode.OpSpec.MODRM;
import static dev.hako.soft.decode.OpSpec.OPREG;
import static dev.hako.soft.decode.OpcodeTable.ANY;
import static dev.hako.soft.decode.OpcodeTable.ONE_BYTE;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;

/** Stack operations (SDM vol. 1 ch. 6.2, 7.3.1.3): PUSH, POP in all forms, PUSHF, POPF, ENTER, LEAVE. */
final class Stack {
    /** RFLAGS bits POPF may change at CPL 3 (IF and IOPL are kept). */
    static final long POPF_USER_MASK = Flags.ARITH | Flags.TF | Flags.DF | Flags.AC | Flags.ID | Flags.NT;

    private Stack() {}

    static void register(OpcodeTable t) {
        for (int r = 0; r < 8; r++) {
            t.op(ONE_BYTE, 0x50 + r, "push", OPREG | D64, IMM_NONE, 0, Stack::pushReg);
            t.op(ONE_BYTE, 0x58 + r, "pop", OPREG | D64, IMM_NONE, 0, Stack::popReg);
        }
        t.op(ONE_BYTE, 0x68, "push", D64, IZ, 0, Stack::pushImm);
        t.op(ONE_BYTE, 0x6A, "push", D64, IB, 0, Stack::pushImm);
        t.add(ONE_BYTE, 0xFF, ANY, 6, "push", MODRM | D64, IMM_NONE, 0, Stack::pushEv);
        t.add(ONE_BYTE, 0x8F, ANY, 0, "pop", MODRM | D64, IMM_NONE, 0, Stack::popEv);
        t.op(ONE_BYTE, 0x9C, "pushf", D64, IMM_NONE, 0, Stack::pushf);
        t.op(ONE_BYTE, 0x9D, "popf", D64, IMM_NONE, 0, Stack::popf);
        t.op(ONE_BYTE, 0xC8, "enter", D64, IW_IB, 0, Stack::enter);
        t.op(ONE_BYTE, 0xC9, "leave", D64, IMM_NONE, 0, Stack::leave);
    }

    static void push(Cpu c, int size, long value) {
        c.push(size, value);
    }

    static long pop(Cpu c, int size) {
        return c.pop(size);
    }

    static void pushReg(Cpu c, Insn i) {
        push(c, i.opSize, c.getReg(i.reg, i.opSize));
    }

    static void popReg(Cpu c, Insn i) {
        long v = pop(c, i.opSize);
        c.setReg(i.reg, i.opSize, v);
    }

    static void pushImm(Cpu c, Insn i) {
        push(c, i.opSize, i.imm);
    }

    static void pushEv(Cpu c, Insn i) {
        push(c, i.opSize, c.readRm(i));
    }

    /** POP r/m: RSP is incremented before the destination address is computed (SDM POP). */
    static void popEv(Cpu c, Insn i) {
        long v = c.mem.read(c.stackAddress(0), i.opSize);
        if (i.rmIsReg) {
            c.adjustStack(i.opSize);
            c.setReg(i.rm, i.opSize, v);
            return;
        }
        long oldSp = c.r[Cpu.RSP];
        c.adjustStack(i.opSize);
        try {
            c.mem.write(c.ea(i), i.opSize, v);
        } catch (RuntimeException fault) {
            c.r[Cpu.RSP] = oldSp;
            throw fault;
        }
    }

    static void pushf(Cpu c, Insn i) {
        // VM and RF read as zero in the pushed image.
        push(c, i.opSize, c.rflags() & ~0x30000L);
    }

    static void popf(Cpu c, Insn i) {
        long v = pop(c, i.opSize);
        long mask = POPF_USER_MASK | (c.cpl() == 0 ? Flags.IF | 0x3000L : 0);
        if (i.opSize == 2) {
            mask &= 0xFFFF;
        }
        boolean wasEnabled = (c.flagsOther & Flags.IF) != 0;
        c.setRflags(v, mask);
        c.attention = true; // IF may have come back on
        if (!wasEnabled && (c.flagsOther & Flags.IF) != 0 || (c.flagsOther & Flags.TF) != 0) {
            // A waiting interrupt is taken after this instruction, not at the block's end; TF traps after the next.
            c.exitBlock = true;
        }
    }

    /**
     * ENTER (SDM vol. 2 ENTER): push RBP, copy {@code level - 1} frame pointers from the old frame, push the
     * new frame pointer, then allocate. All or nothing: the stores go below RSP, and RSP and RBP change only
     * once every access has been made, including the write check of the final stack pointer the processor
     * makes (a fault there, too, leaves both registers as they were).
     */
    static void enter(Cpu c, Insn i) {
        int size = i.opSize;
        long frameSize = i.imm & 0xFFFF;
        int level = (int) (i.imm2 & 0x1F);
        long mask = c.stackMask();
        long sp = c.r[Cpu.RSP];
        long rbp = c.r[Cpu.RBP];
        sp = (sp - size) & mask;
        c.mem.write(c.stackLinear(sp), size, c.getReg(Cpu.RBP, size));
        long frameTemp = sp;
        if (level > 0) {
            for (int k = 1; k < level; k++) {
                rbp = (rbp - size) & mask;
                long copied = c.mem.read(c.stackLinear(rbp), size);
                sp = (sp - size) & mask;
                c.mem.write(c.stackLinear(sp), size, copied);
            }
            sp = (sp - size) & mask;
            c.mem.write(c.stackLinear(sp), size, frameTemp);
        }
        sp = (sp - frameSize) & mask;
        c.mem.prepareWrite(c.stackLinear(sp), size);
        c.setReg(Cpu.RBP, size, frameTemp);
        c.r[Cpu.RSP] = (c.r[Cpu.RSP] & ~mask) | sp;
    }

    /** LEAVE: RSP from RBP, then RBP popped; the pop is made first, so a fault leaves both unchanged. */
    static void leave(Cpu c, Insn i) {
        long mask = c.stackMask();
        long frame = c.r[Cpu.RBP] & mask;
        long saved = c.mem.read(c.stackLinear(frame), i.opSize);
        c.r[Cpu.RSP] = (c.r[Cpu.RSP] & ~mask) | ((frame + i.opSize) & mask);
        c.setReg(Cpu.RBP, i.opSize, saved);
    }
}
