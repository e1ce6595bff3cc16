package dev.hako.soft.oracle;

import static dev.hako.soft.oracle.Encoder.AH;
import static dev.hako.soft.oracle.Encoder.BH;
import static dev.hako.soft.oracle.Encoder.CH;
import static dev.hako.soft.oracle.Encoder.DH;
import static dev.hako.soft.oracle.Encoder.encode;
import static dev.hako.soft.oracle.Encoder.group;
import static dev.hako.soft.oracle.Encoder.imm;
import static dev.hako.soft.oracle.Encoder.reg;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Data movement against the host: MOV in all forms (r/m, immediate, MOV r,imm64, moffs), MOVZX, MOVSX,
 * MOVSXD, LEA, XCHG (register, accumulator short forms, memory), CMOVcc and SETcc for all 16 conditions,
 * BSWAP, CBW/CWDE/CDQE, CWD/CDQ/CQO, the multi-byte NOPs, PAUSE, SAHF, LAHF, XLAT.
 */
class MovesDifferentialTest {
    private static final int[] SIZES = {1, 2, 4, 8};
    private static final int[][] BYTE_PAIRS = {{0, 3}, {AH, 3}, {1, BH}, {BH, CH}, {DH, DH}, {4, 7}, {9, 14}};
    private static final int[][] WIDE_PAIRS = {{0, 3}, {3, 3}, {6, 1}, {9, 14}, {15, 8}};

    static List<InstructionCase> movCases() {
        List<InstructionCase> cases = new ArrayList<>();
        for (int size : SIZES) {
            String evgv = size == 1 ? "88" : "89";
            String gvev = size == 1 ? "8a" : "8b";
            for (int[] p : size == 1 ? BYTE_PAIRS : WIDE_PAIRS) {
                cases.add(row(encode("", size, evgv, p[0], reg(p[1]), ""), "mov"));
                cases.add(row(encode("", size, gvev, p[0], reg(p[1]), ""), "mov"));
            }
            int k = 0;
            for (Encoder.Rm m : Encoder.MEMORY) {
                int r = AluDifferentialTest.memoryOperandRegister(size, k++, m);
                cases.add(row(encode("", size, (k & 1) == 0 ? evgv : gvev, r, m, ""), "mov " + m.name()));
            }
            int immBytes = Math.min(size, 4);
            String c6 = size == 1 ? "c6" : "c7";
            cases.add(row(group("", size, c6, 0, reg(size == 1 ? AH : 13), imm(0x8765_4321L, immBytes)), "mov r/m,imm"));
            cases.add(row(group("", size, c6, 0, Encoder.MEMORY.get(size), imm(0xF0E0_D0C0L, immBytes)), "mov m,imm"));
            cases.add(row(movRegImm(size, size == 1 ? AH : 3, 0x89AB_CDEF_0123_4567L), "mov r,imm"));
            cases.add(row(movRegImm(size, 14, 0xFEDC_BA98_7654_3210L), "mov r14,imm"));
            cases.add(row(movRegImm(size, 7, 0x8000_0000_0000_0080L), "mov rdi/dil,imm"));
        }
        cases.add(row("48 c7 c0 ff ff ff ff", "mov rax, imm32 sign-extended"));
        cases.add(row("40 b7 80", "mov dil, imm8"));
        return cases;
    }

    /** B0+r ib / B8+r iw/id/iq: the register in the opcode (AH..BH for 16..19 at byte size). */
    static String movRegImm(int size, int reg, long value) {
        int rex = (size == 8 ? 0x48 : 0) | (reg >= 8 && reg < 16 ? 0x41 : 0) | (size == 1 && reg >= 4 && reg < 8 ? 0x40 : 0);
        int low = reg >= AH ? reg - AH + 4 : reg & 7;
        return (size == 2 ? "66 " : "") + (rex != 0 ? String.format("%02x ", rex | 0x40) : "")
                + String.format("%02x ", (size == 1 ? 0xB0 : 0xB8) + low) + imm(value, size);
    }

    /** MOV with a 64-bit absolute address (moffs), aimed at the data pages; built when the address is known. */
    static List<InstructionCase> moffsCases() {
        long address = Differential.hostDataAddress() + 0x800;
        List<InstructionCase> cases = new ArrayList<>();
        for (int size : SIZES) {
            String prefix = size == 2 ? "66 " : size == 8 ? "48 " : "";
            cases.add(row(prefix + (size == 1 ? "a0 " : "a1 ") + imm(address + size, 8), "mov acc, moffs"));
            cases.add(row(prefix + (size == 1 ? "a2 " : "a3 ") + imm(address + 3, 8), "mov moffs, acc"));
        }
        cases.add(row("67 a1 " + imm(address + 0x10, 4), "mov eax, moffs32"));
        return cases;
    }

    static List<InstructionCase> extensionCases() {
        List<InstructionCase> cases = new ArrayList<>();
        for (int size : new int[] {2, 4, 8}) {
            for (String[] f : new String[][] {{"0f b6", "movzx r,r/m8"}, {"0f be", "movsx r,r/m8"}}) {
                // AH needs no REX; with REX (always there for 64-bit) the same ModRM names SIL.
                cases.add(row(encode("", size, f[0], 3, reg(size == 8 ? 6 : AH), ""), f[1]));
                cases.add(row(encode("", size, f[0], 10, reg(size == 8 ? 12 : 0), ""), f[1]));
                cases.add(row((size == 2 ? "66 " : "") + (size == 8 ? "48 " : "40 ") + f[0] + " ce", f[1] + " sil"));
                cases.add(row(encode("", size, f[0], 2, Encoder.MEMORY.get(size + 1), ""), f[1] + " mem"));
            }
            for (String[] f : new String[][] {{"0f b7", "movzx r,r/m16"}, {"0f bf", "movsx r,r/m16"}}) {
                cases.add(row(encode("", size, f[0], 3, reg(13), ""), f[1]));
                cases.add(row(encode("", size, f[0], 0, Encoder.MEMORY.get(size + 2), ""), f[1] + " mem"));
            }
        }
        cases.add(row("48 63 c3", "movsxd rax, ebx"));
        cases.add(row("4c 63 7c 24 18", "movsxd r15, [rsp+0x18]"));
        cases.add(row("63 c3", "movsxd eax, ebx (no REX.W)"));
        for (String hex : new String[] {"66 98", "98", "48 98", "66 99", "99", "48 99"}) {
            cases.add(row(hex, "cbw/cwde/cdqe/cwd/cdq/cqo"));
        }
        for (int r = 0; r < 16; r += 5) {
            cases.add(row((r >= 8 ? "41 " : "") + String.format("0f %02x", 0xC8 + (r & 7)), "bswap r32"));
            cases.add(row((r >= 8 ? "49 " : "48 ") + String.format("0f %02x", 0xC8 + (r & 7)), "bswap r64"));
        }
        return cases;
    }

    static List<InstructionCase> leaAndXchgCases() {
        List<InstructionCase> cases = new ArrayList<>();
        for (int size : new int[] {2, 4, 8}) {
            for (Encoder.Rm m : Encoder.MEMORY) {
                cases.add(row(encode("", size, "8d", size == 8 ? 11 : 0, m, ""), "lea " + m.name()));
            }
        }
        for (int size : SIZES) {
            String xchg = size == 1 ? "86" : "87";
            for (int[] p : size == 1 ? BYTE_PAIRS : WIDE_PAIRS) {
                cases.add(row(encode("", size, xchg, p[0], reg(p[1]), ""), "xchg"));
            }
            cases.add(row(encode("", size, xchg, size == 1 ? BH : 6, Encoder.MEMORY.get(size), ""), "xchg mem"));
            cases.add(row(encode("f0", size, xchg, 2, Encoder.MEMORY.get(size + 3), ""), "lock xchg mem"));
        }
        for (String hex : new String[] {"90", "93", "66 93", "48 93", "41 90", "49 90", "66 41 97", "48 90", "f3 90",
            "0f 1f 00", "0f 1f 40 00", "66 0f 1f 44 00 00", "0f 1f 80 00 00 00 00", "0f 1f 84 00 00 00 00 00",
            "66 2e 0f 1f 84 00 00 00 00 00", "0f 18 0b", "0f 1e c8"}) {
            cases.add(row(hex, "nop / xchg with rax / pause"));
        }
        return cases;
    }

    static List<InstructionCase> conditionCases() {
        List<InstructionCase> cases = new ArrayList<>();
        for (int cc = 0; cc < 16; cc++) {
            for (int size : new int[] {2, 4, 8}) {
                cases.add(row(encode("", size, String.format("0f %02x", 0x40 + cc), size == 4 ? 5 : 12, reg(3), ""),
                        "cmov" + cc));
            }
            cases.add(row(encode("", 4, String.format("0f %02x", 0x40 + cc), 1, Encoder.MEMORY.get(cc % 13), ""),
                    "cmov" + cc + " mem"));
            String setcc = String.format("0f %02x", 0x90 + cc);
            cases.add(row(encode("", 1, setcc, 0, reg(cc % 2 == 0 ? AH : 9), ""), "set" + cc));
            cases.add(row(encode("", 1, setcc, 0, reg(cc % 2 == 0 ? 2 : 7), ""), "set" + cc));
            cases.add(row(encode("", 1, setcc, 0, Encoder.MEMORY.get((cc + 5) % 13), ""), "set" + cc + " mem"));
        }
        cases.add(row("9e", "sahf"));
        cases.add(row("9f", "lahf"));
        cases.add(row("48 9e", "sahf with REX.W"));
        return cases;
    }

    /** XLAT: AL from [RBX + AL], or [EBX + AL] under 67h (the upper half of RBX random then). */
    static List<InstructionCase> xlatCases() {
        InstructionCase.RegisterValue table = Values.pointer(300, 1);
        return List.of(row("d7", "xlat").with(3, table), row("48 d7", "xlat, REX.W").with(3, table),
                row("66 d7", "xlat, 66h").with(3, table),
                row("67 d7", "xlat [ebx+al]").with(3, (rnd, s) -> table.pick(rnd, s) | rnd.nextLong() << 32));
    }

    private static InstructionCase row(String hex, String note) {
        return InstructionCase.of(hex).note(note).iterations(100);
    }

    @TestFactory
    Stream<DynamicTest> moves() {
        List<InstructionCase> cases = new ArrayList<>(movCases());
        cases.addAll(moffsCases());
        return Differential.tests(cases);
    }

    @TestFactory
    Stream<DynamicTest> extensions() {
        return Differential.tests(extensionCases());
    }

    @TestFactory
    Stream<DynamicTest> leaAndExchanges() {
        return Differential.tests(leaAndXchgCases());
    }

    @TestFactory
    Stream<DynamicTest> tableLookup() {
        return Differential.tests(xlatCases());
    }

    @TestFactory
    Stream<DynamicTest> conditionalMovesAndSets() {
        return Differential.tests(conditionCases());
    }
}
