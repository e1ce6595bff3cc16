package dev.hako.soft.oracle;

import static dev.hako.soft.oracle.Encoder.AH;
import static dev.hako.soft.oracle.Encoder.BH;
import static dev.hako.soft.oracle.Encoder.encode;
import static dev.hako.soft.oracle.Encoder.group;
import static dev.hako.soft.oracle.Encoder.reg;

import dev.hako.soft.exec.Cpu;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * CMPXCHG, XADD, CMPXCHG8B and CMPXCHG16B against the host, in every width, register and memory, with and
 * without LOCK. Half the inputs make the comparison succeed (the accumulator is set to the destination).
 */
class AtomicsDifferentialTest {
    private static final int[] SIZES = {1, 2, 4, 8};

    static List<InstructionCase> exchangeCases() {
        List<InstructionCase> cases = new ArrayList<>();
        for (int size : SIZES) {
            String cmpxchg = size == 1 ? "0f b0" : "0f b1";
            String xadd = size == 1 ? "0f c0" : "0f c1";
            int[][] pairs = size == 1 ? new int[][] {{3, 1}, {AH, BH}, {0, 3}, {9, 14}} : new int[][] {{3, 1}, {0, 3},
                {3, 0}, {9, 14}, {6, 6}};
            for (int[] p : pairs) {
                Encoder.Rm rm = reg(p[1]);
                cases.add(compareExchange(encode("", size, cmpxchg, p[0], rm, ""), rm, size, "cmpxchg"));
                cases.add(row(encode("", size, xadd, p[0], rm, ""), "xadd"));
            }
            for (int k = 0; k < Encoder.MEMORY.size(); k++) {
                Encoder.Rm m = Encoder.MEMORY.get((k + size) % Encoder.MEMORY.size());
                if (m.uses(Cpu.RAX)) {
                    continue; // the accumulator is an operand
                }
                int r = m.uses(2) ? 6 : 2;
                cases.add(compareExchange(encode("", size, cmpxchg, r, m, ""), m, size, "cmpxchg " + m.name()));
                cases.add(row(encode("", size, xadd, r, m, ""), "xadd " + m.name()));
                if (k % 4 == 0) {
                    cases.add(compareExchange(encode("f0", size, cmpxchg, r, m, ""), m, size, "lock cmpxchg " + m.name()));
                    cases.add(row(encode("f0", size, xadd, r, m, ""), "lock xadd " + m.name()));
                }
            }
        }
        return cases;
    }

    /** CMPXCHG, with the accumulator made equal to the destination half the time. */
    private static InstructionCase compareExchange(String hex, Encoder.Rm rm, int size, String note) {
        InstructionCase c = row(hex, note);
        c.adjust((s, rnd, insn) -> {
            if (rnd.nextBoolean() && !(rm.isRegister() && rm.register() == Cpu.RAX)) {
                Operands.writeRegister(s, Cpu.RAX, size, Operands.read(s, c.bytes, rm, size));
            }
        });
        return c;
    }

    static List<InstructionCase> wideCases() {
        List<InstructionCase> cases = new ArrayList<>();
        for (int k = 0; k < Encoder.MEMORY.size(); k++) {
            Encoder.Rm m = Encoder.MEMORY.get(k);
            if (m.uses(Cpu.RAX) || m.uses(Cpu.RDX) || m.uses(Cpu.RBX) || m.uses(Cpu.RCX)) {
                continue; // those registers are the operands
            }
            for (boolean wide : new boolean[] {false, true}) {
                int size = wide ? 16 : 8;
                for (String lock : new String[] {"", "f0"}) {
                    String hex = group(lock, wide ? 8 : 4, "0f c7", 1, m, "");
                    InstructionCase c = row(hex, (lock.isEmpty() ? "" : "lock ") + (wide ? "cmpxchg16b " : "cmpxchg8b ")
                            + m.name()).operandAlign(size).operandSpan(size);
                    c.adjust((s, rnd, insn) -> {
                        if (rnd.nextBoolean()) {
                            long ea = MemoryOperand.of(c.bytes).orElseThrow().address(s.gpr, 0);
                            if (wide) {
                                s.gpr[Cpu.RAX] = s.read(ea, 8);
                                s.gpr[Cpu.RDX] = s.read(ea + 8, 8);
                            } else {
                                Operands.writeRegister(s, Cpu.RAX, 4, s.read(ea, 4));
                                Operands.writeRegister(s, Cpu.RDX, 4, s.read(ea + 4, 4));
                            }
                        }
                    });
                    cases.add(c);
                }
            }
        }
        return cases;
    }

    private static InstructionCase row(String hex, String note) {
        return InstructionCase.of(hex).note(note).iterations(150);
    }

    @TestFactory
    Stream<DynamicTest> compareExchangeAndExchangeAdd() {
        return Differential.tests(exchangeCases());
    }

    @TestFactory
    Stream<DynamicTest> wideCompareExchange() {
        return Differential.tests(wideCases());
    }
}
