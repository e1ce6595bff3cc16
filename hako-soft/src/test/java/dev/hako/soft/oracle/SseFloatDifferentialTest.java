package dev.hako.soft.oracle;

import static dev.hako.soft.oracle.Encoder.reg;
import static dev.hako.soft.oracle.SseCases.DOUBLE;
import static dev.hako.soft.oracle.SseCases.SINGLE;
import static dev.hako.soft.oracle.SseCases.sse;

import dev.hako.soft.oracle.InstructionCase.Compare;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * SSE/SSE2 floating-point arithmetic, comparisons and conversions against the host CPU: every form in
 * register and memory variants, with special-value-heavy inputs, under random rounding modes, DAZ, FTZ and
 * sticky flags. Results, MXCSR and RFLAGS must match bit for bit.
 */
class SseFloatDifferentialTest {
    /** Prefix, lane size and whether a memory operand is a 16-byte aligned m128, per PS PD SS SD. */
    private static final String[] PREFIX = {"", "66", "f3", "f2"};
    private static final int[] LANE = {SINGLE, DOUBLE, SINGLE, DOUBLE};
    private static final String[] SUFFIX = {"ps", "pd", "ss", "sd"};
    private static final int[][] REG_PAIRS = {{1, 2}, {9, 3}, {4, 12}, {15, 15}};

    private static InstructionCase floatCase(String hex, int lane, boolean alignedMemory, String note) {
        InstructionCase c = InstructionCase.of(hex).compare(Compare.XMM, Compare.MXCSR)
                .adjust(SseCases.floatInputs(lane)).adjust(SseCases.randomMxcsr()).iterations(300).note(note);
        return SseCases.alignedIfMemory(c, hex, alignedMemory);
    }

    /** Register pairs and memory operands for one opcode in one of the four forms. */
    private static void forms(List<InstructionCase> cases, String prefix, String opcode, int lane, boolean packed,
            String imm, String note) {
        for (int[] pair : REG_PAIRS) {
            cases.add(floatCase(sse(prefix, opcode, pair[0], reg(pair[1]), false, imm), lane, packed, note));
        }
        for (int k = 0; k < 2; k++) {
            Encoder.Rm m = SseCases.MEMORY[(opcode.hashCode() + k) % SseCases.MEMORY.length];
            cases.add(floatCase(sse(prefix, opcode, 5 + k * 6, m, false, imm), lane, packed, note + " " + m.name()));
        }
    }

    static List<InstructionCase> arithmeticCases() {
        List<InstructionCase> cases = new ArrayList<>();
        String[][] ops = {{"58", "add"}, {"59", "mul"}, {"5c", "sub"}, {"5d", "min"}, {"5e", "div"}, {"5f", "max"},
            {"51", "sqrt"}};
        for (String[] op : ops) {
            for (int form = 0; form < 4; form++) {
                forms(cases, PREFIX[form], op[0], LANE[form], form < 2, "", op[1] + SUFFIX[form]);
            }
        }
        return cases;
    }

    static List<InstructionCase> compareCases() {
        List<InstructionCase> cases = new ArrayList<>();
        for (int form = 0; form < 4; form++) {
            for (int predicate = 0; predicate < 8; predicate++) {
                String imm = Encoder.imm(predicate, 1);
                cases.add(floatCase(sse(PREFIX[form], "c2", 2, reg(10), false, imm), LANE[form], form < 2,
                        "cmp" + SUFFIX[form] + " " + predicate));
                Encoder.Rm m = SseCases.MEMORY[predicate % SseCases.MEMORY.length];
                cases.add(floatCase(sse(PREFIX[form], "c2", 8, m, false, imm), LANE[form], form < 2,
                        "cmp" + SUFFIX[form] + " " + predicate + " " + m.name()));
            }
        }
        String[][] ordered = {{"", "2e", "ucomiss"}, {"66", "2e", "ucomisd"}, {"", "2f", "comiss"}, {"66", "2f", "comisd"}};
        for (String[] o : ordered) {
            int lane = o[0].isEmpty() ? SINGLE : DOUBLE;
            forms(cases, o[0], o[1], lane, false, "", o[2]);
        }
        return cases;
    }

    static List<InstructionCase> conversionCases() {
        List<InstructionCase> cases = new ArrayList<>();
        // Float to float and packed conversions: {prefix, opcode, source lane, aligned m128, name}.
        Object[][] floatSources = {
            {"f3", "5a", SINGLE, false, "cvtss2sd"}, {"f2", "5a", DOUBLE, false, "cvtsd2ss"},
            {"", "5a", SINGLE, false, "cvtps2pd"}, {"66", "5a", DOUBLE, true, "cvtpd2ps"},
            {"66", "5b", SINGLE, true, "cvtps2dq"}, {"f3", "5b", SINGLE, true, "cvttps2dq"},
            {"f2", "e6", DOUBLE, true, "cvtpd2dq"}, {"66", "e6", DOUBLE, true, "cvttpd2dq"},
        };
        for (Object[] row : floatSources) {
            forms(cases, (String) row[0], (String) row[1], (int) row[2], (boolean) row[3], "", (String) row[4]);
        }
        // Integer sources: random (edge-biased) XMM contents and memory, random MXCSR.
        String[][] intSources = {{"", "5b", "cvtdq2ps"}, {"f3", "e6", "cvtdq2pd"}};
        for (String[] row : intSources) {
            boolean aligned = row[1].equals("5b");
            cases.add(intCase(sse(row[0], row[1], 3, reg(7), false, ""), aligned, row[2]));
            cases.add(intCase(sse(row[0], row[1], 12, SseCases.MEMORY[1], false, ""), aligned, row[2] + " mem"));
        }
        // cvtsi2ss/sd from r/m32 and r/m64.
        for (String prefix : new String[] {"f3", "f2"}) {
            String name = prefix.equals("f3") ? "cvtsi2ss" : "cvtsi2sd";
            for (boolean wide : new boolean[] {false, true}) {
                cases.add(intCase(sse(prefix, "2a", 2, reg(11), wide, ""), false, name + (wide ? " r64" : " r32")));
                cases.add(intCase(sse(prefix, "2a", 9, SseCases.MEMORY[2], wide, ""), false, name + " mem"));
            }
        }
        // Float to integer: GPR destinations, XMM or memory sources.
        String[][] toInt = {{"f3", "2d", "cvtss2si"}, {"f3", "2c", "cvttss2si"}, {"f2", "2d", "cvtsd2si"},
            {"f2", "2c", "cvttsd2si"}};
        for (String[] row : toInt) {
            int lane = row[0].equals("f3") ? SINGLE : DOUBLE;
            for (boolean wide : new boolean[] {false, true}) {
                String suffix = wide ? " r64" : " r32";
                cases.add(floatCase(sse(row[0], row[1], 0, reg(5), wide, ""), lane, false, row[2] + suffix));
                cases.add(floatCase(sse(row[0], row[1], 10, reg(13), wide, ""), lane, false, row[2] + suffix));
                cases.add(floatCase(sse(row[0], row[1], 3, SseCases.MEMORY[3], wide, ""), lane, false,
                        row[2] + suffix + " mem"));
            }
        }
        return cases;
    }

    /**
     * RCPPS/RSQRTPS and the scalar forms where the manual defines the result: zero, denormal (treated as
     * zero), infinite, NaN, negative (RSQRT) and huge (RCP flushes) inputs. Elsewhere vendors differ within
     * the 1.5 * 2^-12 bound, which SoftFloatTest checks.
     */
    static List<InstructionCase> approximationCases() {
        List<InstructionCase> cases = new ArrayList<>();
        String[][] forms = {{"", "53", "rcpps"}, {"", "52", "rsqrtps"}, {"f3", "53", "rcpss"}, {"f3", "52", "rsqrtss"}};
        for (String[] f : forms) {
            boolean rsqrt = f[1].equals("52");
            for (int[] pair : REG_PAIRS) {
                cases.add(approximationCase(sse(f[0], f[1], pair[0], reg(pair[1]), false, ""), rsqrt, false, f[2]));
            }
            // Memory operands aligned even for the scalar forms, so they read one whole generated lane.
            cases.add(approximationCase(sse(f[0], f[1], 6, SseCases.MEMORY[0], false, ""), rsqrt, true,
                    f[2] + " [rbx]"));
        }
        return cases;
    }

    private static InstructionCase approximationCase(String hex, boolean rsqrt, boolean aligned, String note) {
        InstructionCase c = InstructionCase.of(hex).compare(Compare.XMM, Compare.MXCSR)
                .adjust(SseCases.randomMxcsr()).iterations(100).note(note).adjust((s, rnd, at) -> {
                    for (int n = 0; n < 16; n++) {
                        FxsaveImage.setXmm(s.fxsave, n, definedLanes(rnd, rsqrt), definedLanes(rnd, rsqrt));
                    }
                    for (int off = 0; off + 8 <= s.data.length; off += 8) {
                        s.write(s.dataAddress + off, 8, definedLanes(rnd, rsqrt));
                    }
                });
        if (aligned) {
            c.adjust(SseCases.aligned(hex));
        }
        return c;
    }

    private static long definedLanes(java.util.Random rnd, boolean rsqrt) {
        return definedLane(rnd, rsqrt) | definedLane(rnd, rsqrt) << 32;
    }

    private static long definedLane(java.util.Random rnd, boolean rsqrt) {
        long sign = rnd.nextBoolean() ? 0x8000_0000L : 0;
        long fraction = rnd.nextInt(1 << 23);
        long v = switch (rnd.nextInt(5)) {
            case 0 -> 0;
            case 1 -> Math.max(1, fraction);
            case 2 -> 0x7F80_0000L;
            case 3 -> 0x7F80_0000L | Math.max(1, fraction);
            default -> rsqrt ? (long) (1 + rnd.nextInt(254)) << 23 | fraction : (long) (253 + rnd.nextInt(2)) << 23 | fraction;
        };
        if (rsqrt && v != 0 && (v & 0x7F80_0000L) != 0x7F80_0000L && (v & 0x7F80_0000L) != 0) {
            sign = 0x8000_0000L; // a negative normal: the default NaN
        }
        return sign | v;
    }

    private static InstructionCase intCase(String hex, boolean aligned, String note) {
        InstructionCase c = InstructionCase.of(hex).compare(Compare.XMM, Compare.MXCSR)
                .adjust(SseCases.randomMxcsr()).iterations(300).note(note);
        return SseCases.alignedIfMemory(c, hex, aligned);
    }

    @TestFactory
    Stream<DynamicTest> arithmetic() {
        return Differential.tests(arithmeticCases());
    }

    @TestFactory
    Stream<DynamicTest> comparisons() {
        return Differential.tests(compareCases());
    }

    @TestFactory
    Stream<DynamicTest> approximations() {
        return Differential.tests(approximationCases());
    }

    @TestFactory
    Stream<DynamicTest> conversions() {
        return Differential.tests(conversionCases());
    }
}
