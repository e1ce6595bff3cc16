package dev.hako.soft.oracle;

import static dev.hako.soft.oracle.Encoder.encode;
import static dev.hako.soft.oracle.Encoder.group;
import static dev.hako.soft.oracle.Encoder.imm;
import static dev.hako.soft.oracle.Encoder.reg;

import dev.hako.soft.exec.Flags;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * BT BTS BTR BTC (register and immediate bit offsets, register and memory operands, LOCK), BSF, BSR, TZCNT,
 * LZCNT and POPCNT against the host. A register bit offset into memory is signed and may leave the operand,
 * so it is kept within a few hundred bits. Undefined flags per the SDM: BT* leave OF SF AF PF undefined;
 * BSF/BSR all but ZF; TZCNT/LZCNT OF SF AF PF.
 */
class BitsDifferentialTest {
    private static final int[] SIZES = {2, 4, 8};
    private static final String[] BT_NAMES = {"bt", "bts", "btr", "btc"};
    private static final String[] BT_REG_OPCODES = {"0f a3", "0f ab", "0f b3", "0f bb"};
    private static final long BT_UNDEFINED = Flags.OF | Flags.SF | Flags.AF | Flags.PF;
    private static final long SCAN_UNDEFINED = Flags.CF | Flags.OF | Flags.SF | Flags.AF | Flags.PF;

    static List<InstructionCase> bitTestCases() {
        List<InstructionCase> cases = new ArrayList<>();
        for (int size : SIZES) {
            for (int op = 0; op < 4; op++) {
                String opcode = BT_REG_OPCODES[op];
                cases.add(row(encode("", size, opcode, 1, reg(3), ""), BT_NAMES[op], BT_UNDEFINED));
                cases.add(row(encode("", size, opcode, 12, reg(9), ""), BT_NAMES[op], BT_UNDEFINED));
                for (int k = 0; k < Encoder.MEMORY.size(); k += 2) {
                    Encoder.Rm m = Encoder.MEMORY.get((k + op) % Encoder.MEMORY.size());
                    int offsetReg = m.uses(11) ? 10 : 11;
                    InstructionCase.RegisterValue nearby = Values.range(-300, 300);
                    cases.add(row(encode("", size, opcode, offsetReg, m, ""), BT_NAMES[op] + " " + m.name() + ",reg",
                            BT_UNDEFINED).with(offsetReg, nearby));
                    if (op != 0 && k % 4 == 0) {
                        cases.add(row(encode("f0", size, opcode, offsetReg, m, ""), "lock " + BT_NAMES[op] + " " + m.name(),
                                BT_UNDEFINED).with(offsetReg, nearby));
                    }
                }
                for (int bit : new int[] {0, 5, 15, 16, 31, 32, 63, 200}) {
                    cases.add(row(group("", size, "0f ba", 4 + op, reg(bit % 3 == 0 ? 0 : 14), imm(bit, 1)),
                            BT_NAMES[op] + " imm " + bit, BT_UNDEFINED));
                }
                Encoder.Rm m = Encoder.MEMORY.get((op * 3 + size) % Encoder.MEMORY.size());
                cases.add(row(group("", size, "0f ba", 4 + op, m, imm(size * 8 - 1, 1)), BT_NAMES[op] + " " + m.name()
                        + ",imm", BT_UNDEFINED));
                if (op != 0) {
                    cases.add(row(group("f0", size, "0f ba", 4 + op, m, "03"), "lock " + BT_NAMES[op] + " mem,imm",
                            BT_UNDEFINED));
                }
            }
        }
        return cases;
    }

    static List<InstructionCase> scanCases() {
        List<InstructionCase> cases = new ArrayList<>();
        Object[][] forms = { // prefix, opcode, name, undefined flags
            {"", "0f bc", "bsf", SCAN_UNDEFINED}, {"", "0f bd", "bsr", SCAN_UNDEFINED},
            {"f3", "0f bc", "tzcnt", BT_UNDEFINED}, {"f3", "0f bd", "lzcnt", BT_UNDEFINED},
            {"f3", "0f b8", "popcnt", 0L}};
        for (Object[] f : forms) {
            for (int size : SIZES) {
                String prefix = (String) f[0];
                String opcode = (String) f[1];
                long undefined = (Long) f[3];
                cases.add(row(encode(prefix, size, opcode, 0, reg(3), ""), (String) f[2], undefined));
                cases.add(row(encode(prefix, size, opcode, 13, reg(13), ""), f[2] + " same reg", undefined));
                cases.add(row(encode(prefix, size, opcode, 6, reg(10), ""), (String) f[2], undefined)
                        .with(10, Values.lowBits(size * 8, (rnd, s) -> rnd.nextInt(3) == 0 ? 0 : 1L << rnd.nextInt(64))));
                Encoder.Rm m = Encoder.MEMORY.get((size + opcode.length()) % Encoder.MEMORY.size());
                cases.add(row(encode(prefix, size, opcode, 2, m, ""), f[2] + " " + m.name(), undefined));
            }
        }
        return cases;
    }

    private static InstructionCase row(String hex, String note, long undefined) {
        return InstructionCase.of(hex).note(note).undefined(undefined).iterations(200);
    }

    @TestFactory
    Stream<DynamicTest> bitTests() {
        return Differential.tests(bitTestCases());
    }

    @TestFactory
    Stream<DynamicTest> bitScansAndCounts() {
        return Differential.tests(scanCases());
    }
}
