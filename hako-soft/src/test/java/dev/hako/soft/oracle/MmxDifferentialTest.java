package dev.hako.soft.oracle;

import static dev.hako.soft.oracle.Encoder.reg;
import static dev.hako.soft.oracle.MmxCases.mmx;

import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.oracle.InstructionCase.Compare;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * MMX, and the SSE/SSE2 instructions on MMX registers, against the host CPU: every form with register and
 * memory operands (REX bits that MMX register numbers ignore included), from an x87 unit in a random state,
 * comparing the MMX registers as the x87 registers they are (significand and exponent), TOP, the tags,
 * FCW and the rest of FSW, XMM and MXCSR. Mixed x87/MMX sequences, EMMS and FXSAVE/FXRSTOR/FNSAVE/FNSTENV
 * around MMX code show the aliasing. A pending x87 exception raises #MF, on the soft CPU alone (natively it
 * would kill the JVM).
 */
class MmxDifferentialTest {
    private static final int RBX = 3, RDI = 7;

    private static InstructionCase mmxCase(String hex, String note) {
        InstructionCase c = InstructionCase.of(hex).compare(Compare.X87, Compare.XMM, Compare.MXCSR)
                .adjust(MmxCases.x87State()).iterations(100).note(note);
        if (MemoryOperand.of(c.bytes).isPresent()) {
            c.adjust(MmxCases.memory(hex));
        }
        return c;
    }

    /** The register pairs, and one memory form with an addressing mode picked by the name. */
    private static void forms(List<InstructionCase> cases, String opcode, String imm, String name) {
        for (int[] pair : MmxCases.REG_PAIRS) {
            cases.add(mmxCase(mmx("", opcode, pair[0], reg(pair[1]), false, imm), name));
        }
        Encoder.Rm m = SseCases.MEMORY[Math.floorMod(name.hashCode(), SseCases.MEMORY.length)];
        cases.add(mmxCase(mmx("", opcode, 3, m, false, imm), name + " " + m.name()));
    }

    static List<InstructionCase> arithmeticCases() {
        List<InstructionCase> cases = new ArrayList<>();
        for (String[] op : SseCases.PACKED_INTEGER) {
            if (!op[1].endsWith("qdq")) {
                forms(cases, op[0], "", op[1]);
            }
        }
        return cases;
    }

    static List<InstructionCase> shiftAndShuffleCases() {
        List<InstructionCase> cases = new ArrayList<>();
        for (String[] op : SseCases.SHIFTS_BY_REGISTER) {
            for (int[] pair : MmxCases.REG_PAIRS) {
                int count = pair[1] & 7;
                cases.add(mmxCase(mmx("", op[0], pair[0], reg(pair[1]), false, ""), op[1])
                        .adjust((s, rnd, at) -> MmxCases.setMm(s, count, SseCases.shiftCount(rnd))));
            }
            String hex = mmx("", op[0], 4, SseCases.MEMORY[0], false, "");
            cases.add(mmxCase(hex, op[1] + " [rbx]").adjust((s, rnd, at) -> s.write(s.gpr[RBX], 8,
                    SseCases.shiftCount(rnd))));
        }
        for (Object[] op : SseCases.SHIFTS_BY_IMMEDIATE) {
            for (int k = 0; k < SseCases.SHIFT_COUNTS.length; k++) {
                String imm = Encoder.imm(SseCases.SHIFT_COUNTS[k], 1);
                int target = k % 2 == 0 ? 5 : 14;
                cases.add(mmxCase(Encoder.group("", 4, "0f " + op[0], (int) op[1], reg(target), imm),
                        op[2] + " " + SseCases.SHIFT_COUNTS[k]));
            }
        }
        for (int order : new int[] {0x00, 0x1B, 0xE4, 0x4E, 0xB1, 0x93}) {
            forms(cases, "70", Encoder.imm(order, 1), "pshufw");
        }
        for (int word = 0; word < 8; word += 3) {
            String imm = Encoder.imm(word | 0x10, 1); // only the low two bits select
            cases.add(mmxCase(mmx("", "c5", 2, reg(5), false, imm), "pextrw"));
            cases.add(mmxCase(mmx("", "c5", 10, reg(11), true, imm), "pextrw r64"));
            cases.add(mmxCase(mmx("", "c4", 4, reg(3), false, imm), "pinsrw"));
            cases.add(mmxCase(mmx("", "c4", 9, reg(12), false, imm), "pinsrw r12d"));
            cases.add(mmxCase(mmx("", "c4", 6, SseCases.MEMORY[4], false, imm), "pinsrw m16"));
        }
        return cases;
    }

    static List<InstructionCase> moveCases() {
        List<InstructionCase> cases = new ArrayList<>();
        for (boolean wide : new boolean[] {false, true}) {
            String w = wide ? " 64" : " 32";
            cases.add(mmxCase(mmx("", "6e", 3, reg(9), wide, ""), "movd/q mm, r" + w));
            cases.add(mmxCase(mmx("", "6e", 12, reg(0), wide, ""), "movd/q mm, r" + w));
            cases.add(mmxCase(mmx("", "6e", 2, SseCases.MEMORY[2], wide, ""), "movd/q mm, m" + w));
            cases.add(mmxCase(mmx("", "7e", 3, reg(9), wide, ""), "movd/q r, mm" + w));
            cases.add(mmxCase(mmx("", "7e", 13, reg(4), wide, ""), "movd/q r, mm" + w));
            cases.add(mmxCase(mmx("", "7e", 2, SseCases.MEMORY[3], wide, ""), "movd/q m, mm" + w));
        }
        forms(cases, "6f", "", "movq mm, mm/m64");
        forms(cases, "7f", "", "movq mm/m64, mm");
        cases.add(mmxCase(mmx("", "e7", 5, SseCases.MEMORY[1], false, ""), "movntq"));
        cases.add(mmxCase(mmx("", "e7", 14, SseCases.MEMORY[5], false, ""), "movntq"));
        cases.add(mmxCase(mmx("", "d7", 0, reg(6), false, ""), "pmovmskb"));
        cases.add(mmxCase(mmx("", "d7", 11, reg(4), true, ""), "pmovmskb r64"));
        cases.add(mmxCase(mmx("", "f7", 1, reg(2), false, ""), "maskmovq").with(RDI, Values.pointer(64, 1)));
        cases.add(mmxCase(mmx("", "f7", 9, reg(14), false, ""), "maskmovq").with(RDI, Values.pointer(64, 1)));
        cases.add(mmxCase(mmx("f3", "d6", 12, reg(3), false, ""), "movq2dq"));
        cases.add(mmxCase(mmx("f3", "d6", 1, reg(15), false, ""), "movq2dq"));
        cases.add(mmxCase(mmx("f2", "d6", 2, reg(11), false, ""), "movdq2q"));
        cases.add(mmxCase(mmx("f2", "d6", 13, reg(0), false, ""), "movdq2q"));
        cases.add(mmxCase("0f 77", "emms"));
        return cases;
    }

    /** A conversion: float lanes in XMM and memory, integer ones in the MMX registers, any MXCSR. */
    private static InstructionCase convertCase(String hex, int floatSize, boolean alignedMemory, String note) {
        InstructionCase c = InstructionCase.of(hex).compare(Compare.X87, Compare.XMM, Compare.MXCSR)
                .adjust(SseCases.floatInputs(floatSize)).adjust(SseCases.randomMxcsr())
                .adjust(MmxCases.x87State()).iterations(200).note(note);
        return SseCases.alignedIfMemory(c, hex, alignedMemory);
    }

    static List<InstructionCase> conversionCases() {
        List<InstructionCase> cases = new ArrayList<>();
        // {prefix, opcode, float size, aligned memory, name}
        Object[][] rows = {
            {"", "2a", SseCases.SINGLE, false, "cvtpi2ps"}, {"66", "2a", SseCases.DOUBLE, false, "cvtpi2pd"},
            {"", "2d", SseCases.SINGLE, false, "cvtps2pi"}, {"", "2c", SseCases.SINGLE, false, "cvttps2pi"},
            {"66", "2d", SseCases.DOUBLE, true, "cvtpd2pi"}, {"66", "2c", SseCases.DOUBLE, true, "cvttpd2pi"},
        };
        for (Object[] row : rows) {
            String prefix = (String) row[0], opcode = (String) row[1], name = (String) row[4];
            int size = (int) row[2];
            boolean aligned = (boolean) row[3];
            cases.add(convertCase(mmx(prefix, opcode, 3, reg(5), false, ""), size, aligned, name));
            cases.add(convertCase(mmx(prefix, opcode, 13, reg(9), false, ""), size, aligned, name));
            cases.add(convertCase(mmx(prefix, opcode, 6, SseCases.MEMORY[1], false, ""), size, aligned,
                    name + " " + SseCases.MEMORY[1].name()));
            cases.add(convertCase(mmx(prefix, opcode, 0, SseCases.MEMORY[4], false, ""), size, aligned,
                    name + " " + SseCases.MEMORY[4].name()));
        }
        return cases;
    }

    /** A sequence of {@code n} instructions; memory operands after the first use RBX, set here. */
    private static InstructionCase sequence(String hex, int n, String note) {
        return mmxCase(hex, note).sequence(n);
    }

    static List<InstructionCase> mixedCases() {
        List<InstructionCase> cases = new ArrayList<>();
        cases.add(sequence("d9 e8 0f 6f c1", 2, "fld1; movq mm0, mm1"));
        cases.add(sequence("d9 ee 0f 7e c0", 2, "fldz; movd eax, mm0"));
        cases.add(sequence("0f fc ca 0f 77 d9 eb", 3, "paddb mm1, mm2; emms; fldpi"));
        cases.add(sequence("0f ef db dd d8", 2, "pxor mm3, mm3; fstp st0"));
        cases.add(sequence("0f 6e d0 d8 c1", 2, "movd mm2, eax; fadd st0, st1"));
        cases.add(sequence("0f 7f c8 d9 c9 0f 7e c8", 3, "movq mm0, mm1; fxch st1; movd eax, mm1"));
        cases.add(sequence("0f 6f c1 df e0", 2, "movq mm0, mm1; fnstsw ax"));
        cases.add(sequence("0f 77 df e0", 2, "emms; fnstsw ax"));
        cases.add(sequence("0f d7 c1 d9 33", 2, "pmovmskb eax, mm1; fnstenv [rbx]").operandSpan(28)
                .with(RBX, Values.pointer(64, 1)));
        cases.add(sequence("0f 6f c1 dd 33", 2, "movq mm0, mm1; fnsave [rbx]").with(RBX, Values.pointer(128, 1)));
        cases.add(sequence("0f 6e d0 0f ae 03", 2, "movd mm2, eax; fxsave [rbx]").with(RBX, Values.pointer(600, 16))
                .ignoreMemory(MmxDifferentialTest::mxcsrMask));
        cases.add(sequence("0f ae 0b 0f 7e c8 0f fe d3", 3, "fxrstor [rbx]; movd eax, mm1; paddd mm2, mm3")
                .operandSpan(512).adjust((s, rnd, at) -> {
                    s.gpr[RBX] &= ~15L;
                    FxsaveDifferentialTest.randomImage(s, rnd, s.gpr[RBX]);
                }));
        return cases;
    }

    /** MXCSR_MASK in an FXSAVE image at RBX is the model's (no DAZ), not the host's. */
    private static boolean mxcsrMask(MachineState in, long address) {
        return address - in.gpr[RBX] >= 28 && address - in.gpr[RBX] < 32;
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

    @TestFactory
    Stream<DynamicTest> conversions() {
        return Differential.tests(conversionCases());
    }

    @TestFactory
    Stream<DynamicTest> mixedWithX87() {
        return Differential.tests(mixedCases());
    }

    /** With an unmasked x87 exception pending, an MMX instruction raises #MF and changes nothing. */
    @TestFactory
    Stream<DynamicTest> pendingX87ExceptionRaisesMf() {
        String[] forms = {"0f fc ca", "0f 6f 03", "0f 7f 03", "0f 7e c0", "0f 77", "0f d7 c1", "0f 70 c1 1b",
            "0f 2a c1", "0f 2d c1", "66 0f 2a c1", "f3 0f d6 c1", "0f 71 d0 03"};
        List<InstructionCase> cases = Stream.of(forms).map(hex -> InstructionCase.of(hex)
                .compare(Compare.X87, Compare.XMM).adjust(MmxCases.x87State()).adjust(MmxCases.pendingException())
                .iterations(10)).toList();
        return Differential.faultTests(cases, CpuFault.MF);
    }
}
