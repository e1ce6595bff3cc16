package dev.hako.soft.oracle;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Flags;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

/**
 * Builds a random input {@link MachineState} for a case: edge-biased GPRs, random arithmetic flags and
 * DF, random XMM registers and memory, a default x87/MXCSR state, RSP inside the data pages, then the
 * case's register constraints, its ModRM memory operand aimed into the data pages, and its adjusters.
 */
final class InputGenerator {
    /** RSP stays this far from either end of the data pages unless a case says otherwise. */
    static final int STACK_MARGIN = 1024;

    private InputGenerator() {}

    static MachineState generate(InstructionCase c, Random rnd, long dataAddress, long insnAddress, int mxcsrMask) {
        MachineState s = new MachineState(dataAddress);
        for (int r = 0; r < 16; r++) {
            s.gpr[r] = Values.edgeBiased(rnd);
        }
        s.rflags = 0x202 | (rnd.nextLong() & Flags.ARITH) | (rnd.nextBoolean() ? Flags.DF : 0);
        FxsaveImage.setControl(s.fxsave, 0x037F, 0, 0, 0x1F80 & mxcsrMask);
        for (int i = 0; i < 8; i++) {
            FxsaveImage.setSt(s.fxsave, i, rnd.nextLong(), rnd.nextInt(0x10000));
        }
        for (int n = 0; n < 16; n++) {
            FxsaveImage.setXmm(s.fxsave, n, Values.edgeBiased(rnd), Values.edgeBiased(rnd));
        }
        rnd.nextBytes(s.data);
        s.gpr[Cpu.RSP] = Values.pointer(STACK_MARGIN, 8).pick(rnd, s);
        for (Map.Entry<Integer, InstructionCase.RegisterValue> e : c.registers.entrySet()) {
            s.gpr[e.getKey()] = e.getValue().pick(rnd, s);
        }
        Optional<MemoryOperand> operand = MemoryOperand.of(c.bytes);
        if (operand.isPresent() && !operand.get().ripRelative()) {
            aim(c, operand.get(), s, rnd);
        }
        for (InstructionCase.Adjuster a : c.adjusters) {
            a.adjust(s, rnd, insnAddress);
        }
        return s;
    }

    /** Sets the base and index registers so the operand lands in the data pages, sometimes across a page. */
    private static void aim(InstructionCase c, MemoryOperand m, MachineState s, Random rnd) {
        if (c.registers.containsKey(m.base()) || c.registers.containsKey(m.index())) {
            throw new IllegalArgumentException(c + ": the case constrains a register its memory operand uses");
        }
        int span = c.operandSpan;
        long target;
        if (m.locked()) {
            // Aligned, so a LOCKed access never splits a cache line (a split lock may be refused by the host).
            target = s.dataAddress + 64 + ((long) rnd.nextInt(MachineState.DATA_SIZE - 128 - span) & -16);
        } else if (rnd.nextInt(4) == 0) {
            target = s.dataAddress + 4096 - 1 - rnd.nextInt(Math.min(span, 16));
        } else {
            target = s.dataAddress + 64 + rnd.nextInt(MachineState.DATA_SIZE - 128 - span);
        }
        target &= -(long) c.operandAlign;
        int b = m.base();
        int x = m.index();
        long d = m.disp();
        if (b >= 0 && x >= 0 && b != x) {
            long idx = rnd.nextInt(17) - 8;
            s.gpr[x] = idx;
            s.gpr[b] = target - d - (idx << m.scale());
        } else if (b >= 0 && b == x) {
            s.gpr[b] = Math.floorDiv(target - d, 1 + (1L << m.scale()));
        } else if (b >= 0) {
            s.gpr[b] = target - d;
        } else if (x >= 0) {
            target -= (target - d) & ((1L << m.scale()) - 1);
            s.gpr[x] = (target - d) >> m.scale();
        }
        if (m.addr32()) {
            // Only the low 32 bits of the registers count: random upper halves test the truncation.
            for (int r : new int[] {b, x}) {
                if (r >= 0 && r != Cpu.RSP) {
                    s.gpr[r] = (s.gpr[r] & 0xFFFFFFFFL) | (rnd.nextLong() << 32);
                }
            }
        }
    }
}
