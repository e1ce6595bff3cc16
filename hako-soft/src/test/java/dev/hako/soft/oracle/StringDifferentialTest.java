package dev.hako.soft.oracle;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Flags;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * MOVS CMPS STOS LODS SCAS in every width, single and with REP / REPE / REPNE, with 64- and 32-bit
 * addressing (67h), in both directions (DF is random in every input). RSI and RDI point into the data
 * pages with room for the longest run; RCX is a small count. The compares get strings that match for a
 * while (or hold a match somewhere), so REPE/REPNE runs stop at every kind of place.
 */
class StringDifferentialTest {
    private static final String[] NAMES = {"movs", "cmps", "stos", "lods", "scas"};
    private static final int[] OPCODES = {0xA4, 0xA6, 0xAA, 0xAC, 0xAE};
    private static final int CMPS = 1, SCAS = 4;
    private static final int[] SIZES = {1, 2, 4, 8};
    private static final int MAX_COUNT = 40;
    /** Room around RSI/RDI for MAX_COUNT elements of 8 bytes either way. */
    private static final int MARGIN = MAX_COUNT * 8 + 16;

    static List<InstructionCase> stringCases() {
        List<InstructionCase> cases = new ArrayList<>();
        for (int op = 0; op < 5; op++) {
            boolean compares = op == CMPS || op == SCAS;
            String[] reps = compares ? new String[] {"", "f3", "f2"} : new String[] {"", "f3"};
            for (int size : SIZES) {
                String opcode = String.format("%02x", OPCODES[op] + (size == 1 ? 0 : 1));
                String sizePrefix = size == 2 ? "66 " : "";
                String rex = size == 8 ? "48 " : "";
                for (String rep : reps) {
                    for (boolean addr32 : new boolean[] {false, true}) {
                        if (addr32 && rep.isEmpty() && size != 4) {
                            continue;
                        }
                        String hex = (rep + " " + sizePrefix + (addr32 ? "67 " : "") + rex + opcode).trim();
                        String note = (rep.equals("f3") ? compares ? "repe " : "rep " : rep.equals("f2") ? "repne " : "")
                                + NAMES[op] + (size * 8) + (addr32 ? " a32" : "");
                        cases.add(stringCase(hex, note, op, size, addr32, rep));
                    }
                }
            }
        }
        return cases;
    }

    private static InstructionCase stringCase(String hex, String note, int op, int size, boolean addr32, String rep) {
        InstructionCase c = InstructionCase.of(hex).note(note).iterations(300)
                .with(Cpu.RSI, Values.pointer(MARGIN, 1))
                .with(Cpu.RDI, Values.pointer(MARGIN, 1))
                .with(Cpu.RCX, Values.range(0, MAX_COUNT));
        if (op == CMPS) {
            c.adjust((s, rnd, insn) -> matchingRun(s, rnd, s.gpr[Cpu.RSI], s.gpr[Cpu.RDI], size, rep.equals("f2")));
        } else if (op == SCAS) {
            c.adjust((s, rnd, insn) -> matchingScan(s, rnd, size, rep.equals("f2")));
        }
        if (addr32) {
            // Only ESI, EDI and ECX count: random upper halves test that the rest is ignored.
            c.adjust((s, rnd, insn) -> {
                for (int r : new int[] {Cpu.RSI, Cpu.RDI, Cpu.RCX}) {
                    s.gpr[r] = (s.gpr[r] & 0xFFFFFFFFL) | (rnd.nextLong() << 32);
                }
            });
        }
        return c;
    }

    /** Offset of element {@code k} from a string's start, walking the direction DF gives. */
    private static long element(MachineState s, int k, int size) {
        return (s.rflags & Flags.DF) != 0 ? -(long) k * size : (long) k * size;
    }

    /**
     * For CMPS: makes the destination equal the source for a random number of elements, then different
     * (REPE); or different, with one equal element somewhere (REPNE).
     */
    private static void matchingRun(MachineState s, Random rnd, long src, long dst, int size, boolean repne) {
        int run = rnd.nextInt(MAX_COUNT + 4);
        for (int k = 0; k <= run && k < MAX_COUNT; k++) {
            long a = src + element(s, k, size);
            long b = dst + element(s, k, size);
            long value = s.read(a, size);
            if (repne) {
                s.write(b, size, k == run ? value : ~value);
            } else {
                s.write(b, size, k == run ? ~value : value);
            }
        }
    }

    /** For SCAS: elements equal to the accumulator for a while (REPE), or unequal but for one (REPNE). */
    private static void matchingScan(MachineState s, Random rnd, int size, boolean repne) {
        int run = rnd.nextInt(MAX_COUNT + 4);
        long acc = s.gpr[Cpu.RAX];
        for (int k = 0; k <= run && k < MAX_COUNT; k++) {
            long at = s.gpr[Cpu.RDI] + element(s, k, size);
            boolean equal = repne == (k == run);
            s.write(at, size, equal ? acc : ~acc);
        }
    }

    @TestFactory
    Stream<DynamicTest> strings() {
        return Differential.tests(stringCases());
    }
}
