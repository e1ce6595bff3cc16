package dev.hako.soft.oracle;

import static dev.hako.soft.oracle.Encoder.AH;
import static dev.hako.soft.oracle.Encoder.BH;
import static dev.hako.soft.oracle.Encoder.encode;
import static dev.hako.soft.oracle.Encoder.group;
import static dev.hako.soft.oracle.Encoder.imm;
import static dev.hako.soft.oracle.Encoder.reg;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Flags;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * ROL ROR RCL RCR SHL SHR SAL(/6) SAR by 1, by CL and by imm8, and SHLD/SHRD, in every width, register and
 * memory, against the host. Undefined flags follow the SDM: with a masked count of 0 nothing changes; AF is
 * undefined after a shift; OF is undefined for counts above 1; CF after SHL/SHR by at least the operand
 * width; SHLD/SHRD counts beyond the width are avoided (result undefined).
 */
class ShiftDifferentialTest {
    private static final String[] NAMES = {"rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"};
    private static final int[] SIZES = {1, 2, 4, 8};
    private static final int[] COUNTS = {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255};
    private static final int RCX = Cpu.RCX;

    /** Flags the SDM leaves undefined for shift/rotate {@code op} at {@code size} by raw count {@code count}. */
    static long undefined(int op, int size, long count) {
        int masked = (int) count & (size == 8 ? 63 : 31);
        if (masked == 0) {
            return 0;
        }
        long u = masked > 1 ? Flags.OF : 0;
        if (op >= 4) {
            u |= Flags.AF;
            if (op != 7 && masked >= size * 8) {
                u |= Flags.CF;
            }
        }
        return u;
    }

    private static InstructionCase.RegisterValue clCount() {
        return Values.lowBits(8, (rnd, s) -> rnd.nextInt(3) == 0 ? rnd.nextInt(256) : COUNTS[rnd.nextInt(COUNTS.length)]);
    }

    static List<InstructionCase> shiftCases() {
        List<InstructionCase> cases = new ArrayList<>();
        for (int size : SIZES) {
            String byImm = size == 1 ? "c0" : "c1";
            String byOne = size == 1 ? "d0" : "d1";
            String byCl = size == 1 ? "d2" : "d3";
            int[] regs = size == 1 ? new int[] {0, AH, 3, 14, BH, 6} : new int[] {0, 3, 14, 6, 9, 2};
            for (int op = 0; op < 8; op++) {
                final int o = op;
                int dest = regs[op % regs.length];
                cases.add(row(group("", size, byOne, op, reg(dest), ""), NAMES[op] + " by 1")
                        .undefined(undefined(op, size, 1)));
                cases.add(row(group("", size, byCl, op, reg(dest == RCX ? 2 : dest), ""), NAMES[op] + " by cl")
                        .with(RCX, clCount()).undefinedWhen(in -> undefined(o, size, in.gpr[RCX] & 0xFF)));
                for (int count : COUNTS) {
                    if (count % 3 == op % 3 || count <= 2) {
                        cases.add(row(group("", size, byImm, op, reg(regs[count % regs.length]), imm(count, 1)),
                                NAMES[op] + " by " + count).undefined(undefined(op, size, count)));
                    }
                }
                Encoder.Rm m = memoryWithoutRcx(op + size);
                cases.add(row(group("", size, byOne, op, m, ""), NAMES[op] + " " + m.name() + " by 1")
                        .undefined(undefined(op, size, 1)));
                cases.add(row(group("", size, byCl, op, m, ""), NAMES[op] + " " + m.name() + " by cl")
                        .with(RCX, clCount()).undefinedWhen(in -> undefined(o, size, in.gpr[RCX] & 0xFF)));
                int count = COUNTS[(op * 5 + size) % COUNTS.length];
                cases.add(row(group("", size, byImm, op, m, imm(count, 1)), NAMES[op] + " " + m.name() + " by " + count)
                        .undefined(undefined(op, size, count)));
            }
        }
        return cases;
    }

    private static Encoder.Rm memoryWithoutRcx(int k) {
        List<Encoder.Rm> modes = Encoder.MEMORY.stream().filter(m -> !m.uses(RCX)).toList();
        return modes.get(k % modes.size());
    }

    /** Flags undefined after SHLD/SHRD by raw count {@code count}. */
    static long doubleUndefined(int size, long count) {
        int masked = (int) count & (size == 8 ? 63 : 31);
        if (masked == 0) {
            return 0;
        }
        return Flags.AF | (masked > 1 ? Flags.OF : 0);
    }

    static List<InstructionCase> doubleShiftCases() {
        List<InstructionCase> cases = new ArrayList<>();
        String[] names = {"shld", "shrd"};
        String[][] opcodes = {{"0f a4", "0f a5"}, {"0f ac", "0f ad"}};
        for (int size = 2; size <= 8; size *= 2) {
            int width = size * 8;
            int[] counts = {0, 1, 2, 5, width / 2, width - 1, width, width + 1, 63};
            for (int kind = 0; kind < 2; kind++) {
                for (int count : counts) {
                    int masked = count & (size == 8 ? 63 : 31);
                    if (masked > width) {
                        continue; // result undefined
                    }
                    cases.add(row(encode("", size, opcodes[kind][0], 3, reg(count % 2 == 0 ? 0 : 13), imm(count, 1)),
                            names[kind] + " by " + count).undefined(doubleUndefined(size, count)));
                }
                final int s = size;
                InstructionCase.RegisterValue cl = Values.lowBits(8,
                        (rnd, st) -> rnd.nextInt(4) == 0 ? rnd.nextInt(4) * 32 : rnd.nextInt(Math.min(width, 32) + 1));
                cases.add(row(encode("", size, opcodes[kind][1], 6, reg(0), ""), names[kind] + " by cl")
                        .with(RCX, cl).undefinedWhen(in -> doubleUndefined(s, in.gpr[RCX] & 0xFF)));
                Encoder.Rm m = memoryWithoutRcx(size + kind);
                cases.add(row(encode("", size, opcodes[kind][1], 10, m, ""), names[kind] + " " + m.name() + " by cl")
                        .with(RCX, cl).undefinedWhen(in -> doubleUndefined(s, in.gpr[RCX] & 0xFF)));
                cases.add(row(encode("", size, opcodes[kind][0], 2, m, imm(width - 3, 1)), names[kind] + " " + m.name())
                        .undefined(doubleUndefined(size, width - 3)));
            }
        }
        return cases;
    }

    private static InstructionCase row(String hex, String note) {
        return InstructionCase.of(hex).note(note).iterations(150);
    }

    @TestFactory
    Stream<DynamicTest> shiftsAndRotates() {
        return Differential.tests(shiftCases());
    }

    @TestFactory
    Stream<DynamicTest> doublePrecisionShifts() {
        return Differential.tests(doubleShiftCases());
    }
}
