package dev.hako.soft.oracle;

import static dev.hako.soft.oracle.Encoder.reg;
import static dev.hako.soft.oracle.SseCases.sse;

import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.oracle.InstructionCase.Compare;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * SSE2 packed-integer arithmetic, logic, shifts and shuffles, and the SSE/SSE2 moves, against the host CPU:
 * register and memory forms, REX-extended registers, edge-biased register contents. Plus the alignment and
 * MXCSR faults on the soft CPU alone (they would kill the JVM natively).
 */
class SseIntegerDifferentialTest {
    private static final int[][] REG_PAIRS = {{1, 2}, {8, 3}, {6, 14}, {11, 11}};

    private static InstructionCase xmmCase(String hex, boolean alignedMemory, String note) {
        InstructionCase c = InstructionCase.of(hex).compare(Compare.XMM, Compare.MXCSR).iterations(100).note(note);
        return SseCases.alignedIfMemory(c, hex, alignedMemory);
    }

    private static void forms(List<InstructionCase> cases, String prefix, String opcode, boolean aligned,
            String imm, String name) {
        for (int[] pair : REG_PAIRS) {
            cases.add(xmmCase(sse(prefix, opcode, pair[0], reg(pair[1]), false, imm), aligned, name));
        }
        Encoder.Rm m = SseCases.MEMORY[Math.floorMod(name.hashCode(), SseCases.MEMORY.length)];
        cases.add(xmmCase(sse(prefix, opcode, 9, m, false, imm), aligned, name + " " + m.name()));
    }

    static List<InstructionCase> arithmeticCases() {
        List<InstructionCase> cases = new ArrayList<>();
        for (String[] op : SseCases.PACKED_INTEGER) {
            forms(cases, "66", op[0], true, "", op[1]);
        }
        String[][] floatShaped = {{"54", "and"}, {"55", "andn"}, {"56", "or"}, {"57", "xor"}, {"14", "unpckl"},
            {"15", "unpckh"}};
        for (String[] op : floatShaped) {
            forms(cases, "", op[0], true, "", op[1] + "ps");
            forms(cases, "66", op[0], true, "", op[1] + "pd");
        }
        return cases;
    }

    static List<InstructionCase> shiftAndShuffleCases() {
        List<InstructionCase> cases = new ArrayList<>();
        for (String[] op : SseCases.SHIFTS_BY_REGISTER) {
            for (int[] pair : REG_PAIRS) {
                int count = pair[1];
                cases.add(xmmCase(sse("66", op[0], pair[0], reg(count), false, ""), true, op[1])
                        .adjust((s, rnd, at) -> FxsaveImage.setXmm(s.fxsave, count, SseCases.shiftCount(rnd),
                                rnd.nextLong())));
            }
            String hex = sse("66", op[0], 4, SseCases.MEMORY[0], false, "");
            cases.add(xmmCase(hex, true, op[1] + " [rbx]").adjust((s, rnd, at) -> {
                long ea = MemoryOperand.of(java.util.HexFormat.of().parseHex(hex.replace(" ", "")))
                        .orElseThrow().address(s.gpr, 0);
                s.write(ea, 8, SseCases.shiftCount(rnd));
            }));
        }
        Object[][] byImm = Stream.concat(Stream.of(SseCases.SHIFTS_BY_IMMEDIATE),
                Stream.of(new Object[] {"73", 3, "psrldq"}, new Object[] {"73", 7, "pslldq"})).toArray(Object[][]::new);
        for (Object[] op : byImm) {
            for (int k = 0; k < SseCases.SHIFT_COUNTS.length; k++) {
                String imm = Encoder.imm(SseCases.SHIFT_COUNTS[k], 1);
                int target = k % 2 == 0 ? 5 : 13;
                cases.add(xmmCase(Encoder.group("66", 4, "0f " + op[0], (int) op[1], reg(target), imm), false,
                        op[2] + " " + SseCases.SHIFT_COUNTS[k]));
            }
        }
        int[] orders = {0x00, 0x1B, 0xE4, 0x4E, 0xB1, 0x93};
        for (int order : orders) {
            String imm = Encoder.imm(order, 1);
            forms(cases, "66", "70", true, imm, "pshufd");
            forms(cases, "f2", "70", true, imm, "pshuflw");
            forms(cases, "f3", "70", true, imm, "pshufhw");
            forms(cases, "", "c6", true, imm, "shufps");
            forms(cases, "66", "c6", true, Encoder.imm(order & 3, 1), "shufpd");
        }
        for (int word = 0; word < 8; word += 3) {
            String imm = Encoder.imm(word | 0x10, 1); // only the low three bits select
            cases.add(xmmCase(sse("66", "c5", 2, reg(9), false, imm), false, "pextrw"));
            cases.add(xmmCase(sse("66", "c5", 10, reg(3), true, imm), false, "pextrw r64"));
            cases.add(xmmCase(sse("66", "c4", 12, reg(3), false, imm), false, "pinsrw"));
            cases.add(xmmCase(sse("66", "c4", 4, SseCases.MEMORY[4], false, imm), false, "pinsrw m16"));
        }
        return cases;
    }

    static List<InstructionCase> moveCases() {
        List<InstructionCase> cases = new ArrayList<>();
        // {prefix, opcode, aligned memory, has register form, name}
        Object[][] moves = {
            {"", "10", false, true, "movups"}, {"", "11", false, true, "movups store"},
            {"66", "10", false, true, "movupd"}, {"66", "11", false, true, "movupd store"},
            {"", "28", true, true, "movaps"}, {"", "29", true, true, "movaps store"},
            {"66", "28", true, true, "movapd"}, {"66", "29", true, true, "movapd store"},
            {"f3", "10", false, true, "movss"}, {"f3", "11", false, true, "movss store"},
            {"f2", "10", false, true, "movsd"}, {"f2", "11", false, true, "movsd store"},
            {"", "12", false, true, "movlps/movhlps"}, {"", "13", false, false, "movlps store"},
            {"66", "12", false, false, "movlpd"}, {"66", "13", false, false, "movlpd store"},
            {"", "16", false, true, "movhps/movlhps"}, {"", "17", false, false, "movhps store"},
            {"66", "16", false, false, "movhpd"}, {"66", "17", false, false, "movhpd store"},
            {"66", "6f", true, true, "movdqa"}, {"66", "7f", true, true, "movdqa store"},
            {"f3", "6f", false, true, "movdqu"}, {"f3", "7f", false, true, "movdqu store"},
            {"", "2b", true, false, "movntps"}, {"66", "2b", true, false, "movntpd"},
            {"66", "e7", true, false, "movntdq"},
            {"f3", "7e", false, true, "movq xmm, xmm/m64"}, {"66", "d6", false, true, "movq xmm/m64, xmm"},
        };
        for (Object[] row : moves) {
            String prefix = (String) row[0], opcode = (String) row[1], name = (String) row[4];
            if ((boolean) row[3]) {
                cases.add(xmmCase(sse(prefix, opcode, 3, reg(12), false, ""), false, name));
                cases.add(xmmCase(sse(prefix, opcode, 13, reg(0), false, ""), false, name));
            }
            for (int k = 0; k < 3; k++) {
                Encoder.Rm m = SseCases.MEMORY[(k * 2 + opcode.hashCode()) % SseCases.MEMORY.length];
                cases.add(xmmCase(sse(prefix, opcode, 7 + k, m, false, ""), (boolean) row[2], name + " " + m.name()));
            }
        }
        for (boolean wide : new boolean[] {false, true}) {
            String w = wide ? " 64" : " 32";
            cases.add(xmmCase(sse("66", "6e", 3, reg(9), wide, ""), false, "movd/q xmm, r" + w));
            cases.add(xmmCase(sse("66", "6e", 10, SseCases.MEMORY[2], wide, ""), false, "movd/q xmm, m" + w));
            cases.add(xmmCase(sse("66", "7e", 3, reg(9), wide, ""), false, "movd/q r, xmm" + w));
            cases.add(xmmCase(sse("66", "7e", 10, SseCases.MEMORY[3], wide, ""), false, "movd/q m, xmm" + w));
            cases.add(xmmCase(sse("", "c3", 5, SseCases.MEMORY[1], wide, ""), false, "movnti" + w));
        }
        cases.add(xmmCase(sse("", "50", 2, reg(9), false, ""), false, "movmskps"));
        cases.add(xmmCase(sse("66", "50", 12, reg(1), false, ""), false, "movmskpd"));
        cases.add(xmmCase(sse("66", "d7", 0, reg(15), false, ""), false, "pmovmskb"));
        cases.add(xmmCase(sse("66", "d7", 11, reg(4), true, ""), false, "pmovmskb r64"));
        cases.add(xmmCase(sse("66", "f7", 1, reg(2), false, ""), false, "maskmovdqu")
                .with(7, Values.pointer(64, 1)));
        cases.add(xmmCase(sse("66", "f7", 9, reg(14), false, ""), false, "maskmovdqu")
                .with(7, Values.pointer(64, 1)));
        String ldmxcsr = Encoder.group("", 4, "0f ae", 2, SseCases.MEMORY[1], "");
        cases.add(xmmCase(ldmxcsr, false, "ldmxcsr").adjust((s, rnd, at) -> {
            long ea = MemoryOperand.of(java.util.HexFormat.of().parseHex(ldmxcsr.replace(" ", "")))
                    .orElseThrow().address(s.gpr, 0);
            s.write(ea, 4, rnd.nextInt(0x10000));
        }));
        cases.add(xmmCase(Encoder.group("", 4, "0f ae", 3, SseCases.MEMORY[5], ""), false, "stmxcsr")
                .adjust(SseCases.randomMxcsr()));
        return cases;
    }

    @TestFactory
    Stream<DynamicTest> arithmetic() {
        return Differential.tests(arithmeticCases());
    }

    @TestFactory
    Stream<DynamicTest> shiftsAndShuffles() {
        return Differential.tests(shiftAndShuffleCases());
    }

    @TestFactory
    Stream<DynamicTest> moves() {
        return Differential.tests(moveCases());
    }

    /** Misaligned m128 operands of the aligned forms, and reserved MXCSR bits: #GP(0), on the soft CPU alone. */
    @TestFactory
    Stream<DynamicTest> faults() {
        List<DynamicTest> tests = new ArrayList<>();
        String[] aligned = {"0f 28 43 01", "66 0f 29 43 08", "66 0f 6f 43 04", "66 0f fe 43 02", "0f 58 43 0c",
            "66 0f e7 43 01", "66 0f 70 43 03 1b"};
        for (String hex : aligned) {
            InstructionCase c = InstructionCase.of(hex).iterations(10).adjust((s, rnd, at) -> s.gpr[3] &= -16);
            tests.add(DynamicTest.dynamicTest(hex + " misaligned", () -> Differential.checkSoftFault(c, CpuFault.GP)));
        }
        InstructionCase reserved = InstructionCase.of("0f ae 13").iterations(10).adjust((s, rnd, at) ->
                s.write(s.gpr[3], 4, 0x1F80 | (1L << (16 + rnd.nextInt(16)))));
        tests.add(DynamicTest.dynamicTest("ldmxcsr reserved bit", () -> Differential.checkSoftFault(reserved,
                CpuFault.GP)));
        return tests.stream();
    }
}
