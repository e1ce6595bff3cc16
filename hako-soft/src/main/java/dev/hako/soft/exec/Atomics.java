package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.BYTE;
import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpSpec.LOCKABLE;
import static dev.hako.soft.decode.OpSpec.MEM_ONLY;
import static dev.hako.soft.decode.OpSpec.MODRM;
import static dev.hako.soft.decode.OpcodeTable.ANY;
import static dev.hako.soft.decode.OpcodeTable.MAP_0F;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;
import dev.hako.soft.fault.CpuFault;

/** Exchange-and-compare (SDM vol. 1 ch. 7.3.1.2): CMPXCHG, CMPXCHG8B, CMPXCHG16B, XADD; atomic under LOCK. */
final class Atomics {
    /** CMPXCHG16B has no 128-bit host compare-and-set: such updates are serialized here. */
    private static final Object WIDE_LOCK = new Object();

    private Atomics() {}

    static void register(OpcodeTable t) {
        t.op(MAP_0F, 0xB0, "cmpxchg", MODRM | BYTE | LOCKABLE, IMM_NONE, 0, Atomics::cmpxchg);
        t.op(MAP_0F, 0xB1, "cmpxchg", MODRM | LOCKABLE, IMM_NONE, 0, Atomics::cmpxchg);
        t.op(MAP_0F, 0xC0, "xadd", MODRM | BYTE | LOCKABLE, IMM_NONE, 0, Atomics::xadd);
        t.op(MAP_0F, 0xC1, "xadd", MODRM | LOCKABLE, IMM_NONE, 0, Atomics::xadd);
        t.addForm(MAP_0F, 0xC7, ANY, 1, "cmpxchg8b", MODRM | MEM_ONLY | LOCKABLE, IMM_NONE, 0, Atomics::cmpxchg8b);
    }

    static void cmpxchg(Cpu c, Insn i) {
        int size = i.opSize;
        long expected = c.getReg(Cpu.RAX, size);
        long src = c.getReg(i.reg, size);
        long old;
        if (i.rmIsReg) {
            old = c.getReg(i.rm, size);
            if (old == expected) {
                c.setReg(i.rm, size, src);
            }
        } else {
            long ea = c.ea(i);
            if (i.lock) {
                old = c.mem.compareAndExchange(ea, size, expected, src);
            } else {
                old = c.mem.read(ea, size);
                // Without LOCK the destination is written either way (the old value on failure).
                c.mem.write(ea, size, old == expected ? src : old);
            }
        }
        Alu.compute(c, Alu.CMP, expected, old, size, 0);
        if (old != expected) {
            c.setReg(Cpu.RAX, size, old);
        }
    }

    static void xadd(Cpu c, Insn i) {
        int size = i.opSize;
        long src = c.getReg(i.reg, size);
        long old;
        if (i.rmIsReg) {
            old = c.getReg(i.rm, size);
            c.setReg(i.reg, size, old);
            c.setReg(i.rm, size, Alu.compute(c, Alu.ADD, old, src, size, 0));
            return;
        }
        long ea = c.ea(i);
        if (i.lock) {
            do {
                old = c.mem.read(ea, size);
            } while (c.mem.compareAndExchange(ea, size, old, (old + src) & Flags.mask(size)) != old);
        } else {
            old = c.mem.read(ea, size);
            c.mem.write(ea, size, old + src);
        }
        Alu.compute(c, Alu.ADD, old, src, size, 0);
        c.setReg(i.reg, size, old);
    }

    /** CMPXCHG8B m64, or CMPXCHG16B m128 with REX.W (16-byte alignment required). */
    static void cmpxchg8b(Cpu c, Insn i) {
        long ea = c.ea(i);
        long f = Flags.arith(c) & ~Flags.ZF;
        if (i.rexW) {
            if ((ea & 15) != 0) {
                throw c.fault(CpuFault.GP, 0);
            }
            synchronized (WIDE_LOCK) {
                long lo = c.mem.read64(ea);
                long hi = c.mem.read64(ea + 8);
                if (lo == c.r[Cpu.RAX] && hi == c.r[Cpu.RDX]) {
                    c.mem.write64(ea, c.r[Cpu.RBX]);
                    c.mem.write64(ea + 8, c.r[Cpu.RCX]);
                    c.setArithFlags(f | Flags.ZF);
                } else {
                    c.mem.write64(ea, lo); // the destination is written back on failure too
                    c.mem.write64(ea + 8, hi);
                    c.r[Cpu.RAX] = lo;
                    c.r[Cpu.RDX] = hi;
                    c.setArithFlags(f);
                }
            }
            return;
        }
        long expected = (c.r[Cpu.RDX] << 32) | (c.r[Cpu.RAX] & 0xFFFFFFFFL);
        long update = (c.r[Cpu.RCX] << 32) | (c.r[Cpu.RBX] & 0xFFFFFFFFL);
        long old = c.mem.compareAndExchange(ea, 8, expected, update);
        if (old == expected) {
            c.setArithFlags(f | Flags.ZF);
        } else {
            c.r[Cpu.RAX] = old & 0xFFFFFFFFL;
            c.r[Cpu.RDX] = old >>> 32;
            c.setArithFlags(f);
        }
    }
}
