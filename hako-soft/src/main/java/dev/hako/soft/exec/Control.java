package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.D64;
import static dev.hako.soft.decode.OpSpec.ENDS_BLOCK;
import static dev.hako.soft.decode.OpSpec.F64;
import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpSpec.IW;
import static dev.hako.soft.decode.OpSpec.JB;
import static dev.hako.soft.decode.OpSpec.JZ;
import static dev.hako.soft.decode.OpSpec.MODRM;
import static dev.hako.soft.decode.OpcodeTable.ANY;
import static dev.hako.soft.decode.OpcodeTable.MAP_0F;
import static dev.hako.soft.decode.OpcodeTable.ONE_BYTE;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;

/**
 * Near control transfers (SDM vol. 1 ch. 6.3, 7.3.8): JMP, Jcc, CALL, RET, LOOP/LOOPcc, JRCXZ. Targets of
 * relative branches are resolved by the decoder; the operand size of near branches is 64 bits in long mode.
 */
final class Control {
    private Control() {}

    static void register(OpcodeTable t) {
        int branch = ENDS_BLOCK | F64;
        t.op(ONE_BYTE, 0xEB, "jmp", branch, JB, 0, Control::jmpRel);
        t.op(ONE_BYTE, 0xE9, "jmp", branch, JZ, 0, Control::jmpRel);
        for (int cc = 0; cc < 16; cc++) {
            t.op(ONE_BYTE, 0x70 + cc, "j", branch, JB, cc, Control::jcc);
            t.op(MAP_0F, 0x80 + cc, "j", branch, JZ, cc, Control::jcc);
        }
        t.op(ONE_BYTE, 0xE8, "call", branch, JZ, 0, Control::callRel);
        t.add(ONE_BYTE, 0xFF, ANY, 2, "call", MODRM | branch, IMM_NONE, 0, Control::callEv);
        t.add(ONE_BYTE, 0xFF, ANY, 4, "jmp", MODRM | branch, IMM_NONE, 0, Control::jmpEv);
        t.op(ONE_BYTE, 0xC3, "ret", branch, IMM_NONE, 0, Control::ret);
        t.op(ONE_BYTE, 0xC2, "ret", branch, IW, 0, Control::ret);
        t.op(ONE_BYTE, 0xE2, "loop", ENDS_BLOCK | D64, JB, 0, Control::loop);
        t.op(ONE_BYTE, 0xE1, "loope", ENDS_BLOCK | D64, JB, 1, Control::loop);
        t.op(ONE_BYTE, 0xE0, "loopne", ENDS_BLOCK | D64, JB, 2, Control::loop);
        t.op(ONE_BYTE, 0xE3, "jrcxz", ENDS_BLOCK | D64, JB, 0, Control::jrcxz);
    }

    static void jmpRel(Cpu c, Insn i) {
        c.rip = i.imm;
    }

    static void jcc(Cpu c, Insn i) {
        c.rip = Flags.condition(c, i.sub) ? i.imm : i.next;
    }

    static void callRel(Cpu c, Insn i) {
        c.push(i.opSize, i.next);
        c.rip = i.imm;
    }

    static void callEv(Cpu c, Insn i) {
        long target = Branches.target(c.readRm(i), c);
        c.push(i.opSize, i.next);
        c.rip = target;
    }

    static void jmpEv(Cpu c, Insn i) {
        c.rip = Branches.target(c.readRm(i), c);
    }

    static void ret(Cpu c, Insn i) {
        long target = Branches.target(c.mem.read(c.stackAddress(0), i.opSize), c);
        c.adjustStack(i.opSize + (i.imm & 0xFFFF));
        c.rip = target;
    }

    /** The counter is RCX, or ECX with an address-size prefix. */
    private static long decrementCounter(Cpu c, Insn i) {
        long mask = Cpu.addressMask(i.addrSize);
        Cpu.writeAddressRegister(c, Cpu.RCX, mask, c.r[Cpu.RCX] - 1);
        return c.r[Cpu.RCX] & mask;
    }

    /** LOOP (sub 0), LOOPE (1), LOOPNE (2). */
    static void loop(Cpu c, Insn i) {
        boolean taken = decrementCounter(c, i) != 0;
        if (i.sub == 1) {
            taken &= Flags.zf(c);
        } else if (i.sub == 2) {
            taken &= !Flags.zf(c);
        }
        c.rip = taken ? i.imm : i.next;
    }

    static void jrcxz(Cpu c, Insn i) {
        long counter = c.r[Cpu.RCX] & Cpu.addressMask(i.addrSize);
        c.rip = counter == 0 ? i.imm : i.next;
    }
}
