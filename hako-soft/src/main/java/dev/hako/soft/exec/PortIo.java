package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.BYTE;
import static dev.hako.soft.decode.OpSpec.ENDS_BLOCK;
import static dev.hako.soft.decode.OpSpec.IB_UNSIGNED;
import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpcodeTable.ONE_BYTE;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;
import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.DataWatch;

/**
 * Port I/O (SDM vol. 1 ch. 19): IN, OUT, INS, OUTS (with REP). Allowed when CPL <= IOPL; the TSS I/O
 * permission bitmap is not consulted, so user code without IOPL 3 gets #GP(0), as under Linux without
 * ioperm(). Each access is shown to the guest's I/O breakpoints when one is armed ({@link Cpu#portWatch}): a hit
 * is a #DB trap after the instruction, or after the iteration of a REP INS/OUTS that made it (SDM vol. 3
 * §17.3.1.2), which then goes on when the handler returns.
 */
final class PortIo {
    private PortIo() {}

    static void register(OpcodeTable t) {
        t.op(ONE_BYTE, 0xE4, "in", BYTE, IB_UNSIGNED, 0, PortIo::inImm);
        t.op(ONE_BYTE, 0xE5, "in", 0, IB_UNSIGNED, 0, PortIo::inImm);
        t.op(ONE_BYTE, 0xE6, "out", BYTE, IB_UNSIGNED, 0, PortIo::outImm);
        t.op(ONE_BYTE, 0xE7, "out", 0, IB_UNSIGNED, 0, PortIo::outImm);
        t.op(ONE_BYTE, 0xEC, "in", BYTE, IMM_NONE, 0, PortIo::inDx);
        t.op(ONE_BYTE, 0xED, "in", 0, IMM_NONE, 0, PortIo::inDx);
        t.op(ONE_BYTE, 0xEE, "out", BYTE, IMM_NONE, 0, PortIo::outDx);
        t.op(ONE_BYTE, 0xEF, "out", 0, IMM_NONE, 0, PortIo::outDx);
        // INS and OUTS end their block, as the other string instructions do: a REP form may stop between
        // iterations with RIP on itself.
        t.op(ONE_BYTE, 0x6C, "ins", BYTE | ENDS_BLOCK, IMM_NONE, 0, PortIo::ins);
        t.op(ONE_BYTE, 0x6D, "ins", ENDS_BLOCK, IMM_NONE, 0, PortIo::ins);
        t.op(ONE_BYTE, 0x6E, "outs", BYTE | ENDS_BLOCK, IMM_NONE, 0, PortIo::outs);
        t.op(ONE_BYTE, 0x6F, "outs", ENDS_BLOCK, IMM_NONE, 0, PortIo::outs);
    }

    private static int size(Insn i) {
        return Math.min(i.opSize, 4);
    }

    private static void check(Cpu c) {
        if (c.syscallHandler != null || c.cpl > ((c.flagsOther >>> 12) & 3)) {
            throw c.fault(CpuFault.GP, 0);
        }
    }

    /** Shows a completed access to the guest's I/O breakpoints; nothing but a null check when none is armed. */
    private static void accessed(Cpu c, int port, int size) {
        DataWatch watch = c.portWatch;
        if (watch != null) {
            watch.accessed(port, size, DataWatch.READ | DataWatch.WRITE);
        }
    }

    static void inImm(Cpu c, Insn i) {
        check(c);
        c.setReg(Cpu.RAX, size(i), c.io.pioRead(c.index, (int) i.imm, size(i)));
        accessed(c, (int) i.imm, size(i));
    }

    static void outImm(Cpu c, Insn i) {
        check(c);
        c.io.pioWrite(c.index, (int) i.imm, size(i), c.getReg(Cpu.RAX, size(i)));
        accessed(c, (int) i.imm, size(i));
    }

    static void inDx(Cpu c, Insn i) {
        check(c);
        int port = (int) c.r[Cpu.RDX] & 0xFFFF;
        c.setReg(Cpu.RAX, size(i), c.io.pioRead(c.index, port, size(i)));
        accessed(c, port, size(i));
    }

    static void outDx(Cpu c, Insn i) {
        check(c);
        int port = (int) c.r[Cpu.RDX] & 0xFFFF;
        c.io.pioWrite(c.index, port, size(i), c.getReg(Cpu.RAX, size(i)));
        accessed(c, port, size(i));
    }

    static void ins(Cpu c, Insn i) {
        stringIo(c, i, true);
    }

    static void outs(Cpu c, Insn i) {
        stringIo(c, i, false);
    }

    /**
     * INS (ES:rDI from the port) and OUTS (DS:rSI, or the override, to the port), once or RCX times with
     * REP; the index and count registers are updated element by element, at the address size.
     */
    private static void stringIo(Cpu c, Insn i, boolean in) {
        check(c);
        int size = size(i);
        long step = c.df() ? -size : size;
        long mask = Cpu.addressMask(i.addrSize);
        int port = (int) c.r[Cpu.RDX] & 0xFFFF;
        int index = in ? Cpu.RDI : Cpu.RSI;
        long base = in ? (c.mode == Cpu.MODE_64 ? 0 : c.sys.base[SystemState.ES]) : c.segmentBase(i.segment);
        do {
            if (i.rep != 0 && (c.r[Cpu.RCX] & mask) == 0) {
                return;
            }
            long address = base + (c.r[index] & mask);
            if (in) {
                c.mem.write(address, size, c.io.pioRead(c.index, port, size));
            } else {
                c.io.pioWrite(c.index, port, size, c.mem.read(address, size));
            }
            Cpu.writeAddressRegister(c, index, mask, c.r[index] + step);
            if (i.rep != 0) {
                Cpu.writeAddressRegister(c, Cpu.RCX, mask, c.r[Cpu.RCX] - 1);
            }
            accessed(c, port, size);
            if (i.rep != 0 && c.portWatch != null && c.portWatch.hit() && (c.r[Cpu.RCX] & mask) != 0) {
                c.rip = i.addr; // the trap comes between iterations; the rest runs after the handler
                c.flagsOther |= Flags.RF; // pushed for a trap after any iteration but the last
                return;
            }
        } while (i.rep != 0);
    }
}
