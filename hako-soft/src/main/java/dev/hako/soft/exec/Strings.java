package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.BYTE;
import static dev.hako.soft.decode.OpSpec.ENDS_BLOCK;
import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpcodeTable.ONE_BYTE;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;

/**
 * String instructions (SDM vol. 1 ch. 7.3.9): MOVS, CMPS, STOS, LODS, SCAS with REP, REPE and REPNE in both
 * directions. Registers are updated element by element, so a fault mid-way leaves a restartable state.
 * The segment override applies to the source; the destination is always ES (flat in long mode).
 */
final class Strings {
    private static final int MOVS = 0, CMPS = 1, STOS = 2, LODS = 3, SCAS = 4;

    private Strings() {}

    static void register(OpcodeTable t) {
        int[][] rows = {{0xA4, MOVS}, {0xA6, CMPS}, {0xAA, STOS}, {0xAC, LODS}, {0xAE, SCAS}};
        String[] names = {"movs", "cmps", "stos", "lods", "scas"};
        for (int[] row : rows) {
            // A string instruction ends its block: a repeated one may restart itself (RIP back to it) to let
            // interrupts in between elements.
            t.op(ONE_BYTE, row[0], names[row[1]], BYTE | ENDS_BLOCK, IMM_NONE, row[1], Strings::string);
            t.op(ONE_BYTE, row[0] + 1, names[row[1]], ENDS_BLOCK, IMM_NONE, row[1], Strings::string);
        }
    }

    private static long sourceBase(Cpu c, Insn i) {
        return c.segmentBase(i.segment);
    }

    static void string(Cpu c, Insn i) {
        int size = i.opSize;
        long step = c.df() ? -size : size;
        long addrMask = Cpu.addressMask(i.addrSize);
        int op = i.sub;
        if (i.rep == 0) {
            once(c, i, op, size, step, addrMask);
            return;
        }
        if ((op == MOVS || op == STOS) && step > 0 && addrMask == -1L) {
            if (RepeatedCopy.run(c, op == MOVS, size, sourceBase(c, i))) {
                c.rip = i.addr; // interrupted between elements, as hardware may be: go on after looking around
                c.flagsOther |= Flags.RF; // as after any iteration but the last: the restart is no new instruction
                c.attention = true; // where RF is cleared when no instruction breakpoint needs it
                return;
            }
        }
        boolean compares = op == CMPS || op == SCAS;
        while ((c.r[Cpu.RCX] & addrMask) != 0) {
            once(c, i, op, size, step, addrMask);
            Cpu.writeAddressRegister(c, Cpu.RCX, addrMask, c.r[Cpu.RCX] - 1);
            if (compares && (Flags.zf(c) != (i.rep == Insn.REP))) {
                break;
            }
        }
    }

    private static void once(Cpu c, Insn i, int op, int size, long step, long addrMask) {
        long rsi = c.r[Cpu.RSI] & addrMask;
        // The destination is ES:rDI; ES is flat in 64-bit mode.
        long rdi = (c.r[Cpu.RDI] & addrMask) + (c.mode == Cpu.MODE_64 ? 0 : c.sys.base[SystemState.ES]);
        switch (op) {
            case MOVS -> {
                c.mem.write(rdi, size, c.mem.read(sourceBase(c, i) + rsi, size));
                advance(c, Cpu.RSI, step, addrMask);
                advance(c, Cpu.RDI, step, addrMask);
            }
            case CMPS -> {
                long a = c.mem.read(sourceBase(c, i) + rsi, size);
                long b = c.mem.read(rdi, size);
                Alu.compute(c, Alu.CMP, a, b, size, 0);
                advance(c, Cpu.RSI, step, addrMask);
                advance(c, Cpu.RDI, step, addrMask);
            }
            case STOS -> {
                c.mem.write(rdi, size, c.r[Cpu.RAX]);
                advance(c, Cpu.RDI, step, addrMask);
            }
            case LODS -> {
                c.setReg(Cpu.RAX, size, c.mem.read(sourceBase(c, i) + rsi, size));
                advance(c, Cpu.RSI, step, addrMask);
            }
            default -> { // SCAS
                Alu.compute(c, Alu.CMP, c.getReg(Cpu.RAX, size), c.mem.read(rdi, size), size, 0);
                advance(c, Cpu.RDI, step, addrMask);
            }
        }
    }

    private static void advance(Cpu c, int reg, long step, long addrMask) {
        Cpu.writeAddressRegister(c, reg, addrMask, c.r[reg] + step);
    }
}
