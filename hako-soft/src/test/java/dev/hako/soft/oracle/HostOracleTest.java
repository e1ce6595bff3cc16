package dev.hako.soft.oracle;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.soft.exec.Cpu;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The oracle itself: a NOP must hand back exactly the state it was given, and a known instruction its result. */
class HostOracleTest {
    private static HostOracle oracle;

    @BeforeAll
    static void host() {
        Assumptions.assumeTrue(HostOracle.available(), HostOracle.UNAVAILABLE);
        oracle = new HostOracle();
    }

    private static MachineState input(InstructionCase c, long insnAddress) {
        return InputGenerator.generate(c, new Random(42), oracle.dataAddress(), insnAddress, oracle.mxcsrMask());
    }

    @Test
    void nopLeavesEveryRegisterFlagXmmAndByteAsItWas() {
        InstructionCase nop = InstructionCase.of("90");
        try (HostOracle.Prepared p = oracle.prepare(nop.bytes, nop.exits())) {
            MachineState in = input(nop, p.insnAddress());
            MachineState out = oracle.run(p, in);
            assertThat(out.gpr).containsExactly(in.gpr);
            assertThat(out.rflags & 0xCD5).isEqualTo(in.rflags & 0xCD5);
            assertThat(out.data).isEqualTo(in.data);
            assertThat(out.ripOffset).isEqualTo(1);
            for (int n = 0; n < 16; n++) {
                assertThat(FxsaveImage.xmmLow(out.fxsave, n)).isEqualTo(FxsaveImage.xmmLow(in.fxsave, n));
                assertThat(FxsaveImage.xmmHigh(out.fxsave, n)).isEqualTo(FxsaveImage.xmmHigh(in.fxsave, n));
            }
            assertThat(FxsaveImage.mxcsr(out.fxsave)).isEqualTo(FxsaveImage.mxcsr(in.fxsave));
            assertThat(FxsaveImage.fcw(out.fxsave)).isEqualTo(0x037F);
        }
    }

    @Test
    void storeAndBranchLandWhereTheHostPutsThem() {
        InstructionCase store = InstructionCase.of("48 89 03"); // mov [rbx], rax
        try (HostOracle.Prepared p = oracle.prepare(store.bytes, store.exits())) {
            MachineState in = input(store, p.insnAddress());
            MachineState out = oracle.run(p, in);
            assertThat(out.read(in.gpr[Cpu.RBX], 8)).isEqualTo(in.gpr[Cpu.RAX]);
        }
        InstructionCase jump = InstructionCase.of("eb 40").exitAt(0x42);
        try (HostOracle.Prepared p = oracle.prepare(jump.bytes, jump.exits())) {
            assertThat(oracle.run(p, input(jump, p.insnAddress())).ripOffset).isEqualTo(0x42);
        }
    }
}
