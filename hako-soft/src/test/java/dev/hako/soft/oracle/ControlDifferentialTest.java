package dev.hako.soft.oracle;

import static dev.hako.soft.oracle.Encoder.group;
import static dev.hako.soft.oracle.Encoder.reg;

import dev.hako.soft.exec.Cpu;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Near control transfers against the host: JMP and Jcc (all 16 conditions) rel8/rel32 both ways, CALL
 * rel32, CALL and JMP through a register or memory, RET and RET imm16, LOOP/LOOPE/LOOPNE and JRCXZ with
 * RCX or (67h) ECX. Each target holds an exit stub in the host trampoline, so where execution went is
 * compared, along with the return addresses pushed. 66h-prefixed branches are left out: AMD truncates RIP
 * to 16 bits where Intel ignores the prefix.
 */
class ControlDifferentialTest {
    /** Where indirect transfers go: an exit stub this far past the instruction. */
    private static final int TARGET = 0x80;

    static List<InstructionCase> relativeCases() {
        List<InstructionCase> cases = new ArrayList<>();
        cases.add(branch("eb 40", 2 + 0x40, "jmp rel8"));
        cases.add(branch("eb c0", 2 - 0x40, "jmp rel8 back"));
        cases.add(branch("eb 00", 2, "jmp rel8 to next"));
        cases.add(branch("e9 00 01 00 00", 5 + 0x100, "jmp rel32"));
        cases.add(branch("e9 00 fe ff ff", 5 - 0x200, "jmp rel32 back"));
        for (int cc = 0; cc < 16; cc++) {
            cases.add(branch(String.format("%02x 40", 0x70 + cc), 2 + 0x40, "j" + cc + " rel8"));
            cases.add(branch(String.format("0f %02x 00 02 00 00", 0x80 + cc), 6 + 0x200, "j" + cc + " rel32"));
            if (cc % 4 == 1) {
                cases.add(branch(String.format("%02x b0", 0x70 + cc), 2 - 0x50, "j" + cc + " rel8 back"));
            }
        }
        cases.add(branch("e8 00 01 00 00", 5 + 0x100, "call rel32"));
        cases.add(branch("e8 00 fc ff ff", 5 - 0x400, "call rel32 back"));
        return cases;
    }

    static List<InstructionCase> indirectCases() {
        List<InstructionCase> cases = new ArrayList<>();
        for (int digit : new int[] {2, 4}) {
            String name = digit == 2 ? "call" : "jmp";
            for (int r : new int[] {3, 12, 0}) {
                cases.add(branch(group("", 4, "ff", digit, reg(r), ""), TARGET, name + " " + Encoder.name64(r))
                        .adjust((s, rnd, insn) -> s.gpr[r] = insn + TARGET));
            }
            for (int k = 0; k < Encoder.MEMORY.size(); k += 3) {
                Encoder.Rm m = Encoder.MEMORY.get(k);
                InstructionCase c = branch(group("", 4, "ff", digit, m, ""), TARGET, name + " " + m.name());
                c.adjust((s, rnd, insn) -> Operands.write(s, c.bytes, m, 8, insn + TARGET));
                cases.add(c);
            }
        }
        cases.add(branch("c3", TARGET, "ret").adjust((s, rnd, insn) -> s.write(s.gpr[Cpu.RSP], 8, insn + TARGET)));
        cases.add(branch("c2 18 00", TARGET, "ret imm16").adjust((s, rnd, insn) -> s.write(s.gpr[Cpu.RSP], 8, insn + TARGET)));
        return cases;
    }

    static List<InstructionCase> counterCases() {
        List<InstructionCase> cases = new ArrayList<>();
        InstructionCase.RegisterValue counter = (rnd, s) -> switch (rnd.nextInt(4)) {
            case 0 -> 0;
            case 1 -> 1;
            case 2 -> 1L << 32 | rnd.nextInt(2); // ECX 0 or 1 with upper bits set
            default -> Values.edgeBiased(rnd);
        };
        String[] names = {"loopne", "loope", "loop", "jrcxz"};
        for (int k = 0; k < 4; k++) {
            for (String prefix : new String[] {"", "67 "}) {
                String hex = prefix + String.format("%02x 40", 0xE0 + k);
                cases.add(branch(hex, prefix.length() / 3 + 2 + 0x40, (prefix.isEmpty() ? "" : "a32 ") + names[k])
                        .with(Cpu.RCX, counter));
            }
        }
        return cases;
    }

    /** A transfer that may fall through or go to {@code target} (offset from the instruction's first byte). */
    private static InstructionCase branch(String hex, int target, String note) {
        return InstructionCase.of(hex).note(note).exitAt(target).iterations(100);
    }

    @TestFactory
    Stream<DynamicTest> relativeBranches() {
        return Differential.tests(relativeCases());
    }

    @TestFactory
    Stream<DynamicTest> indirectBranchesAndReturns() {
        return Differential.tests(indirectCases());
    }

    @TestFactory
    Stream<DynamicTest> loopsAndJrcxz() {
        return Differential.tests(counterCases());
    }
}
