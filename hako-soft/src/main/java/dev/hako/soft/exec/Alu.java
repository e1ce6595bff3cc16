package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.BYTE;
import static dev.hako.soft.decode.OpSpec.IB;
import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpSpec.IZ;
import static dev.hako.soft.decode.OpSpec.LOCKABLE;
import static dev.hako.soft.decode.OpSpec.MODRM;
import static dev.hako.soft.decode.OpcodeTable.ANY;
import static dev.hako.soft.decode.OpcodeTable.ONE_BYTE;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;

/** Binary arithmetic and logic (SDM vol. 1 ch. 7.3.2-7.3.3): ADD OR ADC SBB AND SUB XOR CMP, TEST, INC, DEC, NEG, NOT. */
final class Alu {
    static final int ADD = 0, OR = 1, ADC = 2, SBB = 3, AND = 4, SUB = 5, XOR = 6, CMP = 7;
    private static final String[] NAMES = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};

    private Alu() {}

    static void register(OpcodeTable t) {
        for (int op = 0; op < 8; op++) {
            int base = op << 3;
            int lockable = op == CMP ? 0 : LOCKABLE;
            String name = NAMES[op];
            t.op(ONE_BYTE, base, name, MODRM | BYTE | lockable, IMM_NONE, op, Alu::opEvGv);
            t.op(ONE_BYTE, base + 1, name, MODRM | lockable, IMM_NONE, op, Alu::opEvGv);
            t.op(ONE_BYTE, base + 2, name, MODRM | BYTE, IMM_NONE, op, Alu::opGvEv);
            t.op(ONE_BYTE, base + 3, name, MODRM, IMM_NONE, op, Alu::opGvEv);
            t.op(ONE_BYTE, base + 4, name, BYTE, IB, op, Alu::opRaxIz);
            t.op(ONE_BYTE, base + 5, name, 0, IZ, op, Alu::opRaxIz);
            t.add(ONE_BYTE, 0x80, ANY, op, name, MODRM | BYTE | lockable, IB, op, Alu::opEvIz);
            t.add(ONE_BYTE, 0x81, ANY, op, name, MODRM | lockable, IZ, op, Alu::opEvIz);
            t.add(ONE_BYTE, 0x83, ANY, op, name, MODRM | lockable, IB, op, Alu::opEvIz);
        }
        t.op(ONE_BYTE, 0x84, "test", MODRM | BYTE, IMM_NONE, 0, Alu::testEvGv);
        t.op(ONE_BYTE, 0x85, "test", MODRM, IMM_NONE, 0, Alu::testEvGv);
        t.op(ONE_BYTE, 0xA8, "test", BYTE, IB, 0, Alu::testRaxIz);
        t.op(ONE_BYTE, 0xA9, "test", 0, IZ, 0, Alu::testRaxIz);
        for (int opcode = 0xF6; opcode <= 0xF7; opcode++) {
            int size = opcode == 0xF6 ? BYTE : 0;
            t.add(ONE_BYTE, opcode, ANY, 0, "test", MODRM | size, opcode == 0xF6 ? IB : IZ, 0, Alu::testEvIz);
            t.add(ONE_BYTE, opcode, ANY, 1, "test", MODRM | size, opcode == 0xF6 ? IB : IZ, 0, Alu::testEvIz);
            t.add(ONE_BYTE, opcode, ANY, 2, "not", MODRM | size | LOCKABLE, IMM_NONE, 0, Alu::not);
            t.add(ONE_BYTE, opcode, ANY, 3, "neg", MODRM | size | LOCKABLE, IMM_NONE, 0, Alu::neg);
        }
        t.add(ONE_BYTE, 0xFE, ANY, 0, "inc", MODRM | BYTE | LOCKABLE, IMM_NONE, 0, Alu::inc);
        t.add(ONE_BYTE, 0xFE, ANY, 1, "dec", MODRM | BYTE | LOCKABLE, IMM_NONE, 1, Alu::inc);
        t.add(ONE_BYTE, 0xFF, ANY, 0, "inc", MODRM | LOCKABLE, IMM_NONE, 0, Alu::inc);
        t.add(ONE_BYTE, 0xFF, ANY, 1, "dec", MODRM | LOCKABLE, IMM_NONE, 1, Alu::inc);
    }

    /** Computes {@code a op b} at {@code size}, records the flags, and returns the result. */
    static long compute(Cpu c, int op, long a, long b, int size, long carryIn) {
        long r;
        switch (op) {
            case ADD -> {
                r = a + b;
                c.setFlags(Flags.ADD, size, r, a, b);
            }
            case OR -> {
                r = a | b;
                c.setFlags(Flags.LOGIC, size, r, a, b);
            }
            case ADC -> {
                r = a + b + carryIn;
                c.setFlags(Flags.ADC, size, r, a, b);
                c.ccAux = carryIn;
            }
            case SBB -> {
                r = a - b - carryIn;
                c.setFlags(Flags.SBB, size, r, a, b);
                c.ccAux = carryIn;
            }
            case AND -> {
                r = a & b;
                c.setFlags(Flags.LOGIC, size, r, a, b);
            }
            case XOR -> {
                r = a ^ b;
                c.setFlags(Flags.LOGIC, size, r, a, b);
            }
            default -> { // SUB, CMP
                r = a - b;
                c.setFlags(Flags.SUB, size, r, a, b);
            }
        }
        return r;
    }

    private static long carryIn(Cpu c, int op) {
        return (op == ADC || op == SBB) && Flags.cf(c) ? 1 : 0;
    }

    /** Read-modify-write of the r/m operand with {@code src}; atomic under LOCK. */
    private static void modifyRm(Cpu c, Insn i, long src) {
        int size = i.opSize;
        int op = i.sub;
        long cin = carryIn(c, op);
        if (i.rmIsReg) {
            long r = compute(c, op, c.getReg(i.rm, size), src, size, cin);
            if (op != CMP) {
                c.setReg(i.rm, size, r);
            }
            return;
        }
        long ea = c.ea(i);
        if (op != CMP) {
            c.mem.prepareWrite(ea, size);
        }
        if (i.lock) {
            long old;
            long r;
            do {
                old = c.mem.read(ea, size);
                r = compute(c, op, old, src, size, cin);
            } while (c.mem.compareAndExchange(ea, size, old, r & Flags.mask(size)) != old);
            return;
        }
        long r = compute(c, op, c.mem.read(ea, size), src, size, cin);
        if (op != CMP) {
            c.mem.write(ea, size, r);
        }
    }

    static void opEvGv(Cpu c, Insn i) {
        modifyRm(c, i, c.getReg(i.reg, i.opSize));
    }

    static void opEvIz(Cpu c, Insn i) {
        modifyRm(c, i, i.imm & Flags.mask(i.opSize));
    }

    static void opGvEv(Cpu c, Insn i) {
        int size = i.opSize;
        long src = c.readRm(i);
        long r = compute(c, i.sub, c.getReg(i.reg, size), src, size, carryIn(c, i.sub));
        if (i.sub != CMP) {
            c.setReg(i.reg, size, r);
        }
    }

    static void opRaxIz(Cpu c, Insn i) {
        int size = i.opSize;
        long r = compute(c, i.sub, c.getReg(Cpu.RAX, size), i.imm & Flags.mask(size), size, carryIn(c, i.sub));
        if (i.sub != CMP) {
            c.setReg(Cpu.RAX, size, r);
        }
    }

    static void testEvGv(Cpu c, Insn i) {
        long r = c.readRm(i) & c.getReg(i.reg, i.opSize);
        c.setFlags(Flags.LOGIC, i.opSize, r, 0, 0);
    }

    static void testEvIz(Cpu c, Insn i) {
        c.setFlags(Flags.LOGIC, i.opSize, c.readRm(i) & i.imm, 0, 0);
    }

    static void testRaxIz(Cpu c, Insn i) {
        c.setFlags(Flags.LOGIC, i.opSize, c.getReg(Cpu.RAX, i.opSize) & i.imm, 0, 0);
    }

    static void not(Cpu c, Insn i) {
        if (i.lock) {
            long ea = c.ea(i);
            long old;
            do {
                old = c.mem.read(ea, i.opSize);
            } while (c.mem.compareAndExchange(ea, i.opSize, old, ~old & Flags.mask(i.opSize)) != old);
            return;
        }
        if (i.rmIsReg) {
            c.setReg(i.rm, i.opSize, ~c.getReg(i.rm, i.opSize));
        } else {
            long ea = c.ea(i);
            c.mem.write(ea, i.opSize, ~c.mem.read(ea, i.opSize));
        }
    }

    static void neg(Cpu c, Insn i) {
        int size = i.opSize;
        if (i.rmIsReg) {
            long a = c.getReg(i.rm, size);
            c.setReg(i.rm, size, compute(c, SUB, 0, a, size, 0));
            return;
        }
        long ea = c.ea(i);
        c.mem.prepareWrite(ea, size);
        if (i.lock) {
            long old;
            long r;
            do {
                old = c.mem.read(ea, size);
                r = compute(c, SUB, 0, old, size, 0);
            } while (c.mem.compareAndExchange(ea, size, old, r & Flags.mask(size)) != old);
            return;
        }
        c.mem.write(ea, size, compute(c, SUB, 0, c.mem.read(ea, size), size, 0));
    }

    /** INC (sub 0) and DEC (sub 1): CF is kept. */
    static void inc(Cpu c, Insn i) {
        int size = i.opSize;
        long oldCf = Flags.cf(c) ? Flags.CF : 0;
        long delta = i.sub == 0 ? 1 : -1;
        int producer = i.sub == 0 ? Flags.INC : Flags.DEC;
        if (i.rmIsReg) {
            long a = c.getReg(i.rm, size);
            long r = a + delta;
            c.setReg(i.rm, size, r);
            c.setFlags(producer, size, r, a, 1);
            c.ccAux = oldCf;
            return;
        }
        long ea = c.ea(i);
        long a;
        long r;
        if (i.lock) {
            do {
                a = c.mem.read(ea, size);
                r = a + delta;
            } while (c.mem.compareAndExchange(ea, size, a, r & Flags.mask(size)) != a);
        } else {
            a = c.mem.read(ea, size);
            r = a + delta;
            c.mem.write(ea, size, r);
        }
        c.setFlags(producer, size, r, a, 1);
        c.ccAux = oldCf;
    }
}
