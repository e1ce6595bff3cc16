package dev.hako.soft.oracle;

import dev.hako.soft.fault.CpuFault;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * FXSAVE and FXRSTOR (0F AE /0 /1, 32-bit and REX.W forms) against the host CPU: the 512-byte image in
 * memory, and the x87, MXCSR and XMM state loaded from a random image; misaligned operands raise #GP(0).
 */
class FxsaveDifferentialTest {
    private static final int RBX = 3;

    private static void align(MachineState s, java.util.Random rnd, long insn) {
        s.gpr[RBX] &= ~15L;
    }

    /** Random x87 stack, FCW and tags before FXSAVE. */
    private static InstructionCase save(String hex) {
        return InstructionCase.of(hex).operandSpan(512).compare(InstructionCase.Compare.X87)
                .adjust(X87Inputs.stack(5)).adjust(FxsaveDifferentialTest::align).iterations(100)
                // MXCSR_MASK is the model's (0xFFBF: no DAZ), not the host's.
                .ignoreMemory((in, address) -> address - in.gpr[RBX] >= 28 && address - in.gpr[RBX] < 32);
    }

    /** A random image with a valid MXCSR and FCW at [rbx] before FXRSTOR. */
    private static InstructionCase restore(String hex) {
        return InstructionCase.of(hex).operandSpan(512)
                .compare(InstructionCase.Compare.X87, InstructionCase.Compare.XMM, InstructionCase.Compare.MXCSR)
                .adjust(FxsaveDifferentialTest::align)
                .adjust((s, rnd, insn) -> randomImage(s, rnd, s.gpr[RBX])).iterations(100);
    }

    /** Writes an FXSAVE image at {@code ea} that FXRSTOR accepts: valid MXCSR, nothing pending, random rest. */
    static void randomImage(MachineState s, java.util.Random rnd, long ea) {
        s.write(ea, 2, X87Inputs.controlWord(rnd));
        s.write(ea + 2, 2, rnd.nextInt(0x10000) & 0x3800); // TOP, no pending exceptions
        s.write(ea + 4, 1, rnd.nextInt(256));
        s.write(ea + 24, 4, 0x1F80 | rnd.nextInt(0x40) | (rnd.nextInt(4) << 13));
        for (int i = 0; i < 8; i++) {
            long[] v = X87Inputs.extended(rnd);
            s.write(ea + 32 + 16 * i, 8, v[1]);
            s.write(ea + 40 + 16 * i, 2, v[0]);
        }
    }

    @TestFactory
    Stream<DynamicTest> againstHost() {
        List<InstructionCase> cases = List.of(save("0f ae 03"), save("48 0f ae 03"), restore("0f ae 0b"),
                restore("48 0f ae 0b"));
        return Differential.tests(cases);
    }

    @TestFactory
    Stream<DynamicTest> misalignedRaisesGp() {
        List<InstructionCase> cases = Stream.of(InstructionCase.of("0f ae 03"), InstructionCase.of("0f ae 0b"))
                .map(c -> c.operandSpan(512).adjust((s, rnd, insn) -> s.gpr[RBX] = (s.gpr[RBX] & ~15L) + 1
                        + rnd.nextInt(15)))
                .toList();
        return Differential.faultTests(cases, CpuFault.GP);
    }
}
