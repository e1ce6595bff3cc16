package dev.hako.soft.oracle;

import static dev.hako.soft.oracle.Encoder.reg;
import static dev.hako.soft.oracle.SseCases.sse;

import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.oracle.InstructionCase.Compare;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * MMX instructions and the SSE ones on MMX registers against the host CPU, starting from a random x87 state
 * (TOP, tags, register contents): the results in MM0-MM7, the transition to MMX (TOP 0, all tags valid, the
 * written register's exponent all ones), EMMS, the moves to and from general and XMM registers and memory,
 * and the conversions under a random MXCSR. Register numbers 8 and up encode REX.R or REX.B, which MMX
 * registers ignore.
 */
class MmxDifferentialTest {
    private static final int[][] REG_PAIRS = {{1, 2}, {8, 3}, {6, 6}, {0, 15}};

    /** Writes MMn (x87 physical register n) in an FXSAVE image, whose registers are in stack order. */
    private static void setMm(MachineState s, int n, long value) {
        int top = FxsaveImage.top(s.fxsave);
        int st = (n - top) & 7;
        FxsaveImage.setSt(s.fxsave, st, value, FxsaveImage.stSignExponent(s.fxsave, st));
    }

    /** A random x87 state with no exception pending: TOP, tags, registers; MXCSR kept. */
    private static InstructionCase.Adjuster x87State() {
        return (s, rnd, at) -> {
            FxsaveImage.setControl(s.fxsave, 0x037F, rnd.nextInt(8) << 11 | rnd.nextInt(0x40), rnd.nextInt(0x100),
                    FxsaveImage.mxcsr(s.fxsave));
            for (int i = 0; i < 8; i++) {
                FxsaveImage.setSt(s.fxsave, i, Values.edgeBiased(rnd), rnd.nextInt(0x10000));
            }
        };
    }

    private static InstructionCase mmx(String hex, String note) {
        return InstructionCase.of(hex).compare(Compare.X87, Compare.XMM, Compare.MXCSR).adjust(x87State())
                .iterations(60).note(note);
    }

    /** Register pairs and one memory form of {@code 0F opcode /r} with MMX registers. */
    private static void forms(List<InstructionCase> cases, String opcode, String imm, String name) {
        for (int[] pair : REG_PAIRS) {
            cases.add(mmx(sse("", opcode, pair[0], reg(pair[1]), false, imm), name));
        }
        Encoder.Rm m = SseCases.MEMORY[Math.floorMod(name.hashCode(), SseCases.MEMORY.length)];
        cases.add(mmx(sse("", opcode, 5, m, false, imm), name + " " + m.name()));
    }

    @TestFactory
    Stream<DynamicTest> arithmeticPacksAndShuffles() {
        String[][] ops = {
            {"fc", "paddb"}, {"fd", "paddw"}, {"fe", "paddd"}, {"d4", "paddq"}, {"f8", "psubb"}, {"f9", "psubw"},
            {"fa", "psubd"}, {"fb", "psubq"}, {"ec", "paddsb"}, {"ed", "paddsw"}, {"e8", "psubsb"}, {"e9", "psubsw"},
            {"dc", "paddusb"}, {"dd", "paddusw"}, {"d8", "psubusb"}, {"d9", "psubusw"}, {"d5", "pmullw"},
            {"e5", "pmulhw"}, {"e4", "pmulhuw"}, {"f4", "pmuludq"}, {"f5", "pmaddwd"}, {"f6", "psadbw"},
            {"e0", "pavgb"}, {"e3", "pavgw"}, {"de", "pmaxub"}, {"da", "pminub"}, {"ee", "pmaxsw"}, {"ea", "pminsw"},
            {"74", "pcmpeqb"}, {"75", "pcmpeqw"}, {"76", "pcmpeqd"}, {"64", "pcmpgtb"}, {"65", "pcmpgtw"},
            {"66", "pcmpgtd"}, {"db", "pand"}, {"df", "pandn"}, {"eb", "por"}, {"ef", "pxor"},
            {"60", "punpcklbw"}, {"61", "punpcklwd"}, {"62", "punpckldq"}, {"68", "punpckhbw"},
            {"69", "punpckhwd"}, {"6a", "punpckhdq"}, {"63", "packsswb"}, {"6b", "packssdw"}, {"67", "packuswb"},
        };
        List<InstructionCase> cases = new ArrayList<>();
        for (String[] op : ops) {
            forms(cases, op[0], "", op[1]);
        }
        for (int order : new int[] {0x00, 0x1B, 0xE4, 0x4E, 0xB1}) {
            forms(cases, "70", Encoder.imm(order, 1), "pshufw");
        }
        for (int word = 0; word < 8; word += 3) {
            String imm = Encoder.imm(word | 0x10, 1); // only the low two bits select
            cases.add(mmx(sse("", "c5", 2, reg(5), false, imm), "pextrw"));
            cases.add(mmx(sse("", "c5", 10, reg(3), true, imm), "pextrw r64"));
            cases.add(mmx(sse("", "c4", 4, reg(11), false, imm), "pinsrw"));
            cases.add(mmx(sse("", "c4", 1, SseCases.MEMORY[4], false, imm), "pinsrw m16"));
        }
        cases.add(mmx(sse("", "d7", 0, reg(7), false, ""), "pmovmskb"));
        cases.add(mmx(sse("", "d7", 11, reg(4), true, ""), "pmovmskb r64"));
        return Differential.tests(cases);
    }

    private static long shiftCount(Random rnd) {
        return rnd.nextInt(4) == 0 ? Values.edgeBiased(rnd) : rnd.nextInt(70);
    }

    @TestFactory
    Stream<DynamicTest> shifts() {
        List<InstructionCase> cases = new ArrayList<>();
        String[][] byMm = {{"f1", "psllw"}, {"f2", "pslld"}, {"f3", "psllq"}, {"d1", "psrlw"}, {"d2", "psrld"},
            {"d3", "psrlq"}, {"e1", "psraw"}, {"e2", "psrad"}};
        for (String[] op : byMm) {
            for (int[] pair : REG_PAIRS) {
                int count = pair[1] & 7;
                cases.add(mmx(sse("", op[0], pair[0], reg(pair[1]), false, ""), op[1])
                        .adjust((s, rnd, at) -> setMm(s, count, shiftCount(rnd))));
            }
            String hex = sse("", op[0], 4, SseCases.MEMORY[0], false, "");
            cases.add(mmx(hex, op[1] + " [rbx]").adjust((s, rnd, at) -> s.write(s.gpr[3], 8, shiftCount(rnd))));
        }
        Object[][] byImm = {{"71", 2, "psrlw"}, {"71", 4, "psraw"}, {"71", 6, "psllw"}, {"72", 2, "psrld"},
            {"72", 4, "psrad"}, {"72", 6, "pslld"}, {"73", 2, "psrlq"}, {"73", 6, "psllq"}};
        int[] counts = {0, 1, 3, 7, 8, 15, 16, 31, 32, 63, 64, 200};
        for (Object[] op : byImm) {
            for (int k = 0; k < counts.length; k++) {
                cases.add(mmx(Encoder.group("", 4, "0f " + op[0], (int) op[1], reg(k % 2 == 0 ? 5 : 13),
                        Encoder.imm(counts[k], 1)), op[2] + " " + counts[k]));
            }
        }
        return Differential.tests(cases);
    }

    @TestFactory
    Stream<DynamicTest> movesAndEmms() {
        List<InstructionCase> cases = new ArrayList<>();
        for (boolean wide : new boolean[] {false, true}) {
            String w = wide ? " 64" : " 32";
            cases.add(mmx(sse("", "6e", 3, reg(9), wide, ""), "movd/q mm, r" + w));
            cases.add(mmx(sse("", "6e", 10, SseCases.MEMORY[2], wide, ""), "movd/q mm, m" + w));
            cases.add(mmx(sse("", "7e", 3, reg(9), wide, ""), "movd/q r, mm" + w));
            cases.add(mmx(sse("", "7e", 10, SseCases.MEMORY[3], wide, ""), "movd/q m, mm" + w));
        }
        for (String opcode : new String[] {"6f", "7f"}) {
            cases.add(mmx(sse("", opcode, 3, reg(4), false, ""), "movq " + opcode));
            cases.add(mmx(sse("", opcode, 6, SseCases.MEMORY[5], false, ""), "movq " + opcode + " mem"));
        }
        cases.add(mmx(sse("", "e7", 2, SseCases.MEMORY[1], false, ""), "movntq"));
        cases.add(mmx(sse("f3", "d6", 12, reg(5), false, ""), "movq2dq"));
        cases.add(mmx(sse("f2", "d6", 3, reg(14), false, ""), "movdq2q"));
        cases.add(mmx(sse("", "f7", 1, reg(2), false, ""), "maskmovq").with(7, Values.pointer(64, 1)));
        cases.add(mmx(sse("", "f7", 6, reg(3), false, ""), "maskmovq").with(7, Values.pointer(64, 1)));
        cases.add(mmx("0f 77", "emms"));
        return Differential.tests(cases);
    }

    private static InstructionCase conversion(String hex, boolean aligned, String note) {
        InstructionCase c = InstructionCase.of(hex).compare(Compare.X87, Compare.XMM, Compare.MXCSR)
                .adjust(SseCases.randomMxcsr()).adjust(x87State()).iterations(100).note(note);
        return SseCases.alignedIfMemory(c, hex, aligned);
    }

    @TestFactory
    Stream<DynamicTest> conversions() {
        List<InstructionCase> cases = new ArrayList<>();
        for (String prefix : new String[] {"", "66"}) {
            String name = prefix.isEmpty() ? "cvtpi2ps" : "cvtpi2pd";
            cases.add(conversion(sse(prefix, "2a", 3, reg(6), false, ""), false, name));
            cases.add(conversion(sse(prefix, "2a", 12, reg(1), false, ""), false, name));
            InstructionCase memory =
                    conversion(sse(prefix, "2a", 9, SseCases.MEMORY[1], false, ""), false, name + " mem");
            if (prefix.isEmpty()) {
                // The manual says CVTPI2PS m64 enters MMX state, an AMD EPYC leaves the x87 state alone: the
                // result is compared, the x87 state not.
                memory.compare.remove(Compare.X87);
            }
            cases.add(memory);
        }
        String[][] toInt = {{"", "2d", "cvtps2pi"}, {"", "2c", "cvttps2pi"}, {"66", "2d", "cvtpd2pi"},
            {"66", "2c", "cvttpd2pi"}};
        for (String[] row : toInt) {
            int lane = row[0].isEmpty() ? SseCases.SINGLE : SseCases.DOUBLE;
            boolean aligned = !row[0].isEmpty();
            String[] forms = {sse(row[0], row[1], 2, reg(5), false, ""), sse(row[0], row[1], 10, reg(13), false, ""),
                sse(row[0], row[1], 7, SseCases.MEMORY[3], false, "")};
            for (String hex : forms) {
                cases.add(conversion(hex, aligned, row[2]).adjust(SseCases.floatInputs(lane)));
            }
        }
        return Differential.tests(cases);
    }

    /** An unmasked x87 exception pending (FSW.ES) is taken (#MF) before any MMX instruction does anything. */
    @TestFactory
    Stream<DynamicTest> pendingX87ExceptionFirst() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String hex : new String[] {"0f fc c1", "0f 6f 03", "0f 7e d8", "0f 77", "0f 2a c1", "0f 2d c1"}) {
            InstructionCase c = InstructionCase.of(hex).iterations(5).adjust((s, rnd, at) -> {
                FxsaveImage.setControl(s.fxsave, 0x037E, 0x3081, 0x0F, FxsaveImage.mxcsr(s.fxsave)); // IE unmasked
                s.gpr[3] = s.dataAddress + 64;
            });
            tests.add(DynamicTest.dynamicTest(hex, () -> Differential.checkSoftFault(c, CpuFault.MF)));
        }
        return tests.stream();
    }
}
