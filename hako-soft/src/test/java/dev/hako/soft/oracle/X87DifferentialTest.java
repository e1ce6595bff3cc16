package dev.hako.soft.oracle;

import static dev.hako.soft.oracle.X87Inputs.I16;
import static dev.hako.soft.oracle.X87Inputs.I32;
import static dev.hako.soft.oracle.X87Inputs.I64;
import static dev.hako.soft.oracle.X87Inputs.M32;
import static dev.hako.soft.oracle.X87Inputs.M64;
import static dev.hako.soft.oracle.X87Inputs.M80;
import static dev.hako.soft.oracle.X87Inputs.NONE;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The x87 instructions against the host CPU: registers, FSW (exception flags, C0-C3, TOP), tags, memory and
 * RFLAGS, with random and special operands (zeros, infinities, NaNs, denormals, extreme exponents, values at
 * the rounding boundaries of 24/53/64 bits) under every precision and rounding control, exceptions masked.
 * Transcendentals are compared within 1 ulp of extended precision (hardware itself is not bit-exact for
 * them; the trigonometric ones within 8 ulps, as their argument reduction error grows near zeros and poles),
 * inside each function's domain and with trigonometric arguments below 2^10.
 */
class X87DifferentialTest {
    /** ModRM memory operand [rbx] with the given reg field. */
    private static String mem(int opcode, int reg) {
        return String.format("%02x %02x", opcode, (reg << 3) | 3);
    }

    private static String regForm(int opcode, int reg, int i) {
        return String.format("%02x %02x", opcode, 0xC0 | (reg << 3) | i);
    }

    private static InstructionCase x87(String hex, int depth, int format, String note) {
        InstructionCase c = InstructionCase.of(hex).compare(InstructionCase.Compare.X87)
                .adjust(X87Inputs.stack(depth)).note(note).iterations(300);
        if (format != NONE) {
            c.adjust(X87Inputs.memory(c.bytes, format));
        }
        return c;
    }

    @TestFactory
    Stream<DynamicTest> arithmeticWithMemory() {
        List<InstructionCase> cases = new ArrayList<>();
        int[][] rows = {{0xD8, M32}, {0xDC, M64}, {0xDA, I32}, {0xDE, I16}};
        for (int[] row : rows) {
            for (int op = 0; op < 8; op++) {
                cases.add(x87(mem(row[0], op), 1 + op % 2, row[1], "arith m" + row[1] + " /" + op));
            }
        }
        return Differential.tests(cases);
    }

    @TestFactory
    Stream<DynamicTest> arithmeticWithRegisters() {
        List<InstructionCase> cases = new ArrayList<>();
        for (int opcode : new int[] {0xD8, 0xDC, 0xDE}) {
            for (int op = 0; op < 8; op++) {
                if (opcode == 0xDE && op == 3) {
                    cases.add(x87("de d9", 3, NONE, "fcompp"));
                    continue;
                }
                cases.add(x87(regForm(opcode, op, 1), 2 + op % 2, NONE, "st(1)"));
                cases.add(x87(regForm(opcode, op, 0), 1, NONE, "st(0)"));
                cases.add(x87(regForm(opcode, op, 3), 2, NONE, "st(3) empty"));
            }
        }
        cases.add(x87("da e9", 2, NONE, "fucompp"));
        for (int i : new int[] {1, 2}) {
            cases.add(x87(regForm(0xDD, 4, i), 3, NONE, "fucom"));
            cases.add(x87(regForm(0xDD, 5, i), 3, NONE, "fucomp"));
        }
        return Differential.tests(cases);
    }

    @TestFactory
    Stream<DynamicTest> comparesToFlagsAndConditionalMoves() {
        List<InstructionCase> cases = new ArrayList<>();
        for (String op : new String[] {"db e9", "db f1", "df e9", "df f1", "db f0", "db ea"}) {
            cases.add(x87(op, 2, NONE, "fcomi family"));
        }
        for (int n = 0; n < 8; n++) {
            cases.add(x87(regForm(n < 4 ? 0xDA : 0xDB, n & 3, 2), 3, NONE, "fcmov"));
        }
        return Differential.tests(cases);
    }

    @TestFactory
    Stream<DynamicTest> loadsAndStores() {
        List<InstructionCase> cases = new ArrayList<>();
        int[][] loads = {{0xD9, 0, M32}, {0xDD, 0, M64}, {0xDB, 5, M80}, {0xDF, 0, I16}, {0xDB, 0, I32},
            {0xDF, 5, I64}};
        for (int[] l : loads) {
            cases.add(x87(mem(l[0], l[1]), 2, l[2], "load"));
            cases.add(x87(mem(l[0], l[1]), 8, l[2], "load, stack full"));
        }
        int[][] stores = {{0xD9, 2}, {0xD9, 3}, {0xDD, 2}, {0xDD, 3}, {0xDB, 7}, {0xDF, 2}, {0xDF, 3}, {0xDB, 2},
            {0xDB, 3}, {0xDF, 7}, {0xDF, 1}, {0xDB, 1}, {0xDD, 1}, {0xDF, 6}};
        for (int[] s : stores) {
            cases.add(x87(mem(s[0], s[1]), 2, NONE, "store"));
            cases.add(x87(mem(s[0], s[1]), 0, NONE, "store, stack empty"));
        }
        cases.add(x87(mem(0xDF, 4), 1, NONE, "fbld").adjust((s, rnd, insn) -> {
            long ea = s.gpr[3];
            for (int k = 0; k < 9; k++) {
                s.write(ea + k, 1, rnd.nextInt(10) | rnd.nextInt(10) << 4);
            }
            s.write(ea + 9, 1, rnd.nextBoolean() ? 0x80 : 0);
        }));
        for (String op : new String[] {"d9 c1", "d9 c0", "d9 c9", "d9 cb", "dd d1", "dd d9", "dd c2", "df c1",
            "d9 f6", "d9 f7", "d9 d0", "d9 e0", "d9 e1"}) {
            cases.add(x87(op, 2, NONE, "register transfer"));
        }
        for (int n = 0; n < 7; n++) {
            cases.add(x87(regForm(0xD9, 5, n), 2, NONE, "constant"));
            cases.add(x87(regForm(0xD9, 5, n), 8, NONE, "constant, stack full"));
        }
        return Differential.tests(cases);
    }

    @TestFactory
    Stream<DynamicTest> exactUnaryAndBinary() {
        List<InstructionCase> cases = new ArrayList<>();
        for (String op : new String[] {"d9 e4", "d9 e5", "d9 fa", "d9 fc", "d9 fd", "d9 f4", "d9 f8", "d9 f5"}) {
            cases.add(x87(op, 2, NONE, "st0/st1"));
        }
        cases.add(x87("d9 e5", 0, NONE, "fxam empty"));
        return Differential.tests(cases);
    }

    @TestFactory
    Stream<DynamicTest> control() {
        List<InstructionCase> cases = new ArrayList<>();
        cases.add(x87(mem(0xD9, 7), 3, NONE, "fnstcw"));
        cases.add(x87(mem(0xDD, 7), 3, NONE, "fnstsw m16"));
        cases.add(x87("df e0", 3, NONE, "fnstsw ax"));
        cases.add(x87("db e2", 3, NONE, "fnclex"));
        cases.add(x87("db e3", 3, NONE, "fninit"));
        cases.add(x87("9b", 3, NONE, "fwait"));
        cases.add(x87(mem(0xD9, 5), 3, NONE, "fldcw").adjust((s, rnd, insn) ->
                s.write(s.gpr[3], 2, X87Inputs.controlWord(rnd))));
        return Differential.tests(cases);
    }

    @TestFactory
    Stream<DynamicTest> transcendentals() {
        List<InstructionCase> cases = new ArrayList<>();
        for (String op : new String[] {"d9 f0", "d9 f1", "d9 f9", "d9 f3", "d9 fe", "d9 ff", "d9 f2", "d9 fb"}) {
            // The trigonometric functions amplify the hardware's 66-bit-pi reduction error near their zeros and
            // poles: a few ulps there, not a bit-exact contract.
            boolean trigonometric = op.compareTo("d9 fa") > 0 || op.equals("d9 f2");
            InstructionCase c = trigonometric ? x87(op, 2, NONE, "trigonometric, 8 ulps").x87Ulps(8)
                    : x87(op, 2, NONE, "transcendental, 1 ulp").x87Ulps(1);
            c.adjust(X87DifferentialTest::moderate);
            if (op.equals("d9 f0") || op.equals("d9 f9")) {
                c.adjust(X87DifferentialTest::smallArgument);
            }
            cases.add(c);
        }
        return Differential.tests(cases);
    }

    /**
     * Keeps ST(0) inside each function's domain: |x| <= 1 for F2XM1, |x| < 1 - sqrt(2)/2 for FYL2XP1, and
     * below 2^10 for the trigonometric functions, whose hardware argument reduction is not exact beyond.
     */
    private static void moderate(MachineState s, java.util.Random rnd, long insn) {
        int se = FxsaveImage.stSignExponent(s.fxsave, 0);
        int exp = se & 0x7FFF;
        if (exp != 0x7FFF && exp > 0x3FFF + 9) {
            FxsaveImage.setSt(s.fxsave, 0, FxsaveImage.stSignificand(s.fxsave, 0) | Long.MIN_VALUE,
                    (se & 0x8000) | (0x3FFF + rnd.nextInt(10)));
        }
        if (rnd.nextInt(3) == 0) {
            FxsaveImage.setSt(s.fxsave, 0, FxsaveImage.stSignificand(s.fxsave, 0) | Long.MIN_VALUE,
                    (se & 0x8000) | (0x3FFF - 2 - rnd.nextInt(30)));
        }
    }

    private static void smallArgument(MachineState s, java.util.Random rnd, long insn) {
        int se = FxsaveImage.stSignExponent(s.fxsave, 0);
        if ((se & 0x7FFF) != 0x7FFF && (se & 0x7FFF) >= 0x3FFF - 2) {
            FxsaveImage.setSt(s.fxsave, 0, FxsaveImage.stSignificand(s.fxsave, 0) | Long.MIN_VALUE,
                    (se & 0x8000) | (0x3FFF - 3 - rnd.nextInt(40)));
        }
    }
}
