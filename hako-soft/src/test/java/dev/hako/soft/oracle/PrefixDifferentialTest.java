package dev.hako.soft.oracle;

import dev.hako.soft.fault.CpuFault;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * How the decoder reads prefixes, against the host: a REX not directly before the opcode is ignored, REX.W
 * beats 66h, repeated and null-segment prefixes change nothing, REP on an instruction that ignores it,
 * and the 15-byte limit (#GP, soft only).
 */
class PrefixDifferentialTest {
    static List<InstructionCase> prefixCases() {
        return Stream.of(
                "48 66 01 d8",          // REX before 66h is ignored: add ax, bx
                "66 48 01 d8",          // REX.W wins over 66h: add rax, rbx
                "66 66 01 d8",          // repeated 66h
                "40 01 d8",             // empty REX
                "41 48 01 d8",          // only the last REX counts: add rax, rbx
                "48 41 01 d8",          // add r8d, ebx
                "2e 3e 26 36 01 d8",    // null segment prefixes
                "f3 01 d8",             // REP on ADD is ignored
                "f2 48 01 d8",          // REPNE likewise
                "26 36 01 03",          // with a memory operand
                "66 67 48 01 44 8d f0", // 67h and REX.W together
                "f0 66 2e 01 03",       // LOCK among other prefixes
                "66 66 66 66 66 66 66 66 66 66 66 66 66 01 d8") // exactly 15 bytes
                .map(hex -> InstructionCase.of(hex).iterations(100)).toList();
    }

    @TestFactory
    Stream<DynamicTest> prefixCombinations() {
        return Differential.tests(prefixCases());
    }

    @TestFactory
    Stream<DynamicTest> longerThan15BytesRaisesGp() {
        return Differential.faultTests(List.of(
                InstructionCase.of("66 66 66 66 66 66 66 66 66 66 66 66 66 66 01 d8").iterations(3),
                InstructionCase.of("66 66 66 66 66 66 66 66 66 66 66 48 81 c0 01 00 00 00").iterations(3)), CpuFault.GP);
    }
}
