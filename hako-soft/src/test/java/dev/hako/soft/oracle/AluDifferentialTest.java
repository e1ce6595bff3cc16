package dev.hako.soft.oracle;

import static dev.hako.soft.oracle.Encoder.AH;
import static dev.hako.soft.oracle.Encoder.BH;
import static dev.hako.soft.oracle.Encoder.CH;
import static dev.hako.soft.oracle.Encoder.DH;
import static dev.hako.soft.oracle.Encoder.encode;
import static dev.hako.soft.oracle.Encoder.group;
import static dev.hako.soft.oracle.Encoder.imm;
import static dev.hako.soft.oracle.Encoder.reg;

import dev.hako.soft.exec.Flags;
import dev.hako.soft.fault.CpuFault;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * ADD OR ADC SBB AND SUB XOR CMP, TEST, NOT, NEG, INC, DEC against the host CPU, in every encoding: r/m,reg
 * and reg,r/m, accumulator and immediate forms (imm8 sign-extended too), 8/16/32/64-bit operands with AH..BH
 * and REX byte registers, a spread of addressing modes, LOCK on memory destinations. The logic ops leave
 * AF undefined (SDM vol. 2, AND/OR/XOR/TEST "Flags Affected").
 */
class AluDifferentialTest {
    private static final String[] OPS = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};
    private static final int[] SIZES = {1, 2, 4, 8};
    private static final int CMP = 7;
    private static final int RSP = 4;
    /** (reg, rm) register pairs per size; AH..BH only in byte pairs, RSP never as a written operand. */
    private static final int[][] BYTE_PAIRS = {{0, 3}, {AH, 3}, {1, BH}, {BH, CH}, {DH, DH}, {4, 7}, {9, 14},
        {2, 13}, {5, 5}};
    private static final int[][] WIDE_PAIRS = {{0, 3}, {3, 3}, {6, 1}, {9, 14}, {15, 8}, {2, 12}};
    private static final long[] IMM8 = {0x00, 0x01, 0x7F, 0x80, 0xFF, 0xA5};
    private static final long[] IMM16 = {0x0001, 0x7FFF, 0x8000, 0xFFFF, 0x5AC3};
    private static final long[] IMM32 = {0x0000_0001L, 0x7FFF_FFFFL, 0x8000_0000L, 0xFFFF_FFFFL, 0x5A3C_96E1L};

    static long undefinedFlags(int op) {
        return op == 1 || op == 4 || op == 6 ? Flags.AF : 0;
    }

    static List<InstructionCase> aluCases() {
        List<InstructionCase> cases = new ArrayList<>();
        for (int op = 0; op < 8; op++) {
            long undefined = undefinedFlags(op);
            boolean writes = op != CMP;
            for (int size : SIZES) {
                String evgv = String.format("%02x", (op << 3) + (size == 1 ? 0 : 1));
                String gvev = String.format("%02x", (op << 3) + (size == 1 ? 2 : 3));
                for (int[] pair : size == 1 ? BYTE_PAIRS : WIDE_PAIRS) {
                    if (size == 1 || !writes || pair[1] != RSP) {
                        cases.add(row(encode("", size, evgv, pair[0], reg(pair[1]), ""), undefined, OPS[op]));
                    }
                    if (size == 1 || !writes || pair[0] != RSP) {
                        cases.add(row(encode("", size, gvev, pair[0], reg(pair[1]), ""), undefined, OPS[op]));
                    }
                }
                int k = 0;
                for (Encoder.Rm m : Encoder.MEMORY) {
                    int r = memoryOperandRegister(size, k, m);
                    k++;
                    cases.add(row(encode("", size, evgv, r, m, ""), undefined, OPS[op] + " " + m.name()));
                    cases.add(row(encode("", size, gvev, r, m, ""), undefined, OPS[op] + " " + m.name()));
                    if (writes && k % 3 == 0) {
                        cases.add(row(encode("f0", size, evgv, r, m, ""), undefined, "lock " + OPS[op]));
                    }
                }
                if (!writes) {
                    cases.add(row(encode("", size, gvev, 0, Encoder.RIP_RELATIVE, ""), undefined, "cmp rip-rel")
                            .ripRelativeRead());
                }
                immediateForms(cases, op, size, undefined);
            }
        }
        return cases;
    }

    /** A register operand to go with memory operand {@code m}: AH..BH only where no REX is needed. */
    static int memoryOperandRegister(int size, int k, Encoder.Rm m) {
        int[] regs = size == 1 ? new int[] {0, AH, 10, 3, BH} : new int[] {0, 3, 10, 6, 15};
        int r = regs[k % regs.length];
        boolean rex = size == 8 || m.rexX() != 0 || m.rexB() != 0;
        return r >= AH && rex ? 12 : r;
    }

    private static void immediateForms(List<InstructionCase> cases, int op, int size, long undefined) {
        boolean writes = op != CMP;
        String name = OPS[op];
        long[] immediates = size == 1 ? IMM8 : size == 2 ? IMM16 : IMM32;
        int immBytes = Math.min(size, 4);
        String groupOpcode = size == 1 ? "80" : "81";
        int[] regs = size == 1 ? new int[] {0, AH, 11, 6} : new int[] {0, 3, 11, 5};
        int i = 0;
        for (long value : immediates) {
            int dest = regs[i++ % regs.length];
            cases.add(row(group("", size, groupOpcode, op, reg(dest), imm(value, immBytes)), undefined, name + " imm"));
            // The accumulator short form.
            String acc = String.format("%02x", (op << 3) + (size == 1 ? 4 : 5));
            cases.add(row(sizePrefix(size) + acc + " " + imm(value, immBytes), undefined, name + " acc,imm"));
        }
        for (long value : IMM8) {
            if (size == 1) {
                break;
            }
            cases.add(row(group("", size, "83", op, reg(regs[(int) value % regs.length]), imm(value, 1)), undefined,
                    name + " imm8 sign-extended"));
        }
        Encoder.Rm m1 = Encoder.MEMORY.get(op % Encoder.MEMORY.size());
        Encoder.Rm m2 = Encoder.MEMORY.get((op + 5) % Encoder.MEMORY.size());
        cases.add(row(group("", size, groupOpcode, op, m1, imm(immediates[1], immBytes)), undefined, name + " mem,imm"));
        if (size > 1) {
            cases.add(row(group("", size, "83", op, m2, "80"), undefined, name + " mem,imm8"));
        }
        if (writes) {
            cases.add(row(group("f0", size, groupOpcode, op, m2, imm(immediates[3], immBytes)), undefined,
                    "lock " + name + " mem,imm"));
            if (size > 1) {
                cases.add(row(group("f0", size, "83", op, m1, "01"), undefined, "lock " + name + " mem,imm8"));
            }
        }
    }

    /** The prefix that selects the operand size of a form without ModRM (the accumulator forms). */
    static String sizePrefix(int size) {
        return size == 2 ? "66 " : size == 8 ? "48 " : "";
    }

    static InstructionCase row(String hex, long undefinedFlags, String note) {
        return InstructionCase.of(hex).undefined(undefinedFlags).note(note).iterations(100);
    }

    static List<InstructionCase> unaryCases() {
        List<InstructionCase> cases = new ArrayList<>();
        String[] names = {"test", "test(alias /1)", "not", "neg"};
        for (int size : SIZES) {
            String f6 = size == 1 ? "f6" : "f7";
            String fe = size == 1 ? "fe" : "ff";
            int immBytes = Math.min(size, 4);
            long[] immediates = size == 1 ? IMM8 : size == 2 ? IMM16 : IMM32;
            int[][] pairs = size == 1 ? BYTE_PAIRS : WIDE_PAIRS;
            String test = size == 1 ? "84" : "85";
            for (int[] pair : pairs) {
                cases.add(row(encode("", size, test, pair[0], reg(pair[1]), ""), Flags.AF, "test"));
            }
            int k = 0;
            for (Encoder.Rm m : Encoder.MEMORY) {
                int r = memoryOperandRegister(size, k, m);
                cases.add(row(encode("", size, test, r, m, ""), Flags.AF, "test " + m.name()));
                int digit = 2 + (k & 1); // not / neg
                cases.add(row(group("", size, f6, digit, m, ""), 0, names[digit] + " " + m.name()));
                cases.add(row(group("", size, fe, k & 1, m, ""), 0, (k & 1) == 0 ? "inc" : "dec"));
                if (k % 3 == 0) {
                    cases.add(row(group("f0", size, f6, 2 + ((k / 3) & 1), m, ""), 0, "lock " + names[2 + ((k / 3) & 1)]));
                    cases.add(row(group("f0", size, fe, (k / 3) & 1, m, ""), 0, "lock " + ((k / 3 & 1) == 0 ? "inc" : "dec")));
                }
                k++;
            }
            cases.add(row(encode("", size, test, 0, Encoder.RIP_RELATIVE, ""), Flags.AF, "test rip-rel").ripRelativeRead());
            int[] regs = size == 1 ? new int[] {0, AH, 7, 12, BH} : new int[] {0, 3, 7, 12, 13};
            for (int r : regs) {
                for (int digit = 2; digit <= 3; digit++) {
                    cases.add(row(group("", size, f6, digit, reg(r), ""), 0, names[digit]));
                }
                cases.add(row(group("", size, fe, 0, reg(r), ""), 0, "inc"));
                cases.add(row(group("", size, fe, 1, reg(r), ""), 0, "dec"));
            }
            for (int i = 0; i < immediates.length; i++) {
                int r = regs[i % regs.length];
                cases.add(row(group("", size, f6, 0, reg(r), imm(immediates[i], immBytes)), Flags.AF, "test imm"));
                String acc = size == 1 ? "a8" : "a9";
                cases.add(row(sizePrefix(size) + acc + " " + imm(immediates[i], immBytes), Flags.AF, "test acc,imm"));
            }
            cases.add(row(group("", size, f6, 0, Encoder.MEMORY.get(size), imm(immediates[2], immBytes)), Flags.AF,
                    "test mem,imm"));
            cases.add(row(group("", size, f6, 1, reg(regs[1]), imm(immediates[3], immBytes)), Flags.AF,
                    names[1]));
        }
        return cases;
    }

    @TestFactory
    Stream<DynamicTest> binaryOperations() {
        return Differential.tests(aluCases());
    }

    @TestFactory
    Stream<DynamicTest> unaryOperationsAndTest() {
        return Differential.tests(unaryCases());
    }

    /** Encodings the host would refuse with #UD (they would kill the JVM natively), on the soft CPU alone. */
    @TestFactory
    Stream<DynamicTest> invalidEncodingsRaiseUd() {
        String[] invalid = {
            "f0 01 d8",       // lock add eax, ebx: LOCK needs a memory destination
            "f0 39 03",       // lock cmp [rbx], eax: CMP is not lockable
            "f0 85 03",       // lock test [rbx], eax
            "f0 f6 03 01",    // lock test byte [rbx], 1
            "f0 48 ff c0",    // lock inc rax
            "f0 80 3b 01",    // lock cmp byte [rbx], 1
            "82 c0 01",       // 82 is invalid in 64-bit mode
            "f0 3b 03",       // lock cmp eax, [rbx]: a register destination
            "f0 03 03",       // lock add eax, [rbx]
        };
        return Stream.of(invalid).map(hex -> DynamicTest.dynamicTest(hex,
                () -> Differential.checkSoftFault(InstructionCase.of(hex).iterations(10), CpuFault.UD)));
    }
}
