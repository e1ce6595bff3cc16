package dev.hako.soft.oracle;

import static dev.hako.soft.oracle.Encoder.group;
import static dev.hako.soft.oracle.Encoder.reg;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Flags;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * PUSH and POP (registers, 16-bit forms, immediates, r/m including POP into an RSP-based address), PUSHF
 * and POPF (POPF at CPL 3 may change AC, ID, NT and the arithmetic flags but not IF or IOPL), ENTER with
 * nesting levels, LEAVE, and the flag instructions CLC STC CMC CLD STD, against the host.
 */
class StackDifferentialTest {
    /** Flags a POPF at CPL 3 might touch; TF is left out (it would trap the host after the instruction). */
    private static final long POPF_BITS = Flags.ARITH | Flags.DF | Flags.IF | 0x3000 | 1L << 14 | Flags.AC | Flags.ID;
    private static final InstructionCase.RegisterValue FRAME = Values.pointer(InputGenerator.STACK_MARGIN, 8);

    static List<InstructionCase> pushPopCases() {
        List<InstructionCase> cases = new ArrayList<>();
        for (int r = 0; r < 16; r++) {
            String rex = r >= 8 ? "41 " : "";
            cases.add(row(rex + String.format("%02x", 0x50 + (r & 7)), "push " + Encoder.name64(r)));
            if (r != Cpu.RSP) {
                cases.add(row(rex + String.format("%02x", 0x58 + (r & 7)), "pop " + Encoder.name64(r)));
            }
            if (r % 5 == 0) {
                cases.add(row("66 " + rex + String.format("%02x", 0x50 + (r & 7)), "push r16"));
                cases.add(row("66 " + rex + String.format("%02x", 0x58 + (r & 7)), "pop r16"));
            }
        }
        cases.add(row("5c", "pop rsp").adjust((s, rnd, insn) -> s.write(s.gpr[Cpu.RSP], 8, FRAME.pick(rnd, s))));
        cases.add(row("48 50", "push rax with REX.W"));
        cases.add(row("6a 80", "push imm8"));
        cases.add(row("6a 7f", "push imm8"));
        cases.add(row("68 00 00 00 80", "push imm32"));
        cases.add(row("66 68 34 12", "push imm16"));
        cases.add(row("66 6a ff", "push imm8 (16-bit)"));
        for (Encoder.Rm m : Encoder.MEMORY) {
            cases.add(row(group("", 4, "ff", 6, m, ""), "push " + m.name()));
            cases.add(row(group("", 4, "8f", 0, m, ""), "pop " + m.name()));
        }
        cases.add(row(group("", 2, "ff", 6, Encoder.MEMORY.get(1), ""), "push m16"));
        cases.add(row(group("", 2, "8f", 0, Encoder.MEMORY.get(1), ""), "pop m16"));
        cases.add(row(group("", 4, "ff", 6, reg(9), ""), "push r/m r9"));
        cases.add(row(group("", 4, "8f", 0, reg(3), ""), "pop r/m rbx"));
        return cases;
    }

    static List<InstructionCase> flagCases() {
        List<InstructionCase> cases = new ArrayList<>();
        cases.add(row("9c", "pushf"));
        cases.add(row("66 9c", "pushf16"));
        for (String hex : new String[] {"9d", "66 9d"}) {
            int size = hex.equals("9d") ? 8 : 2;
            cases.add(row(hex, "popf").compareFlags(POPF_BITS).adjust((s, rnd, insn) -> s.write(s.gpr[Cpu.RSP], size,
                    (rnd.nextLong() & POPF_BITS) | 2)));
        }
        for (String hex : new String[] {"f8", "f9", "f5", "fc", "fd"}) {
            cases.add(row(hex, "clc/stc/cmc/cld/std"));
        }
        return cases;
    }

    static List<InstructionCase> frameCases() {
        List<InstructionCase> cases = new ArrayList<>();
        String[] enters = {"c8 00 00 00", "c8 20 00 00", "c8 08 00 01", "c8 10 00 02", "c8 18 01 05", "c8 00 00 21",
            "66 c8 08 00 02"};
        for (String hex : enters) {
            cases.add(row(hex, "enter").with(Cpu.RBP, FRAME));
        }
        cases.add(row("c9", "leave").with(Cpu.RBP, FRAME));
        // With a 16-bit operand LEAVE still copies all of RBP to RSP (the stack address size is 64 bits).
        cases.add(row("66 c9", "leave16").with(Cpu.RBP, FRAME));
        return cases;
    }

    private static InstructionCase row(String hex, String note) {
        return InstructionCase.of(hex).note(note).iterations(150);
    }

    @TestFactory
    Stream<DynamicTest> pushesAndPops() {
        return Differential.tests(pushPopCases());
    }

    @TestFactory
    Stream<DynamicTest> flagsOnTheStackAndFlagOps() {
        return Differential.tests(flagCases());
    }

    @TestFactory
    Stream<DynamicTest> enterAndLeave() {
        return Differential.tests(frameCases());
    }
}
