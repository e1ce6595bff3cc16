package dev.hako.soft.exec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.ControlRegisters;
import dev.hako.soft.mmu.Mmu;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the host oracle cannot show of MMX (SDM vol. 3 12.5, vol. 2 "Protected Mode Exceptions"): CR0.EM
 * makes every MMX instruction #UD and CR0.TS makes it #NM, EM first, before any operand is read or the x87
 * state changes; CVTPI2PS and CVTPI2PD from memory ignore a pending x87 exception and the MMX state, while
 * their register forms raise #MF.
 */
class MmxStateTest {
    private static final long CODE = 0x1000, DATA = 0x2000;
    private static final String[] MMX_FORMS = {"0f fc ca", "0f 6f 0c 25 00 20 00 00", "0f 7f 0c 25 00 20 00 00",
        "0f 77", "0f 7e c0", "0f 70 c1 1b", "0f 2d c1", "f3 0f d6 c1", "0f 71 d0 03", "0f f7 ca"};

    private Cpu cpu;
    private Interpreter interpreter;
    private int faultVector;

    @BeforeEach
    void setUp() {
        MemorySegment ram = Arena.ofAuto().allocate(0x4000, 4096);
        cpu = new Cpu(new Mmu(ram, (gva, access) -> {
            if (gva < 0 || gva >= 0x4000) {
                throw new CpuFault().raise(CpuFault.PF, 0, true, gva);
            }
            return gva & -4096;
        }));
        interpreter = new Interpreter(cpu, (c, fault, in) -> faultVector = fault.vector());
        cpu.r[Cpu.RDI] = DATA;
        X87 x = cpu.fpu;
        x.top = 5;
        x.tags = 0x21;
        for (int n = 0; n < 8; n++) {
            x.significand[n] = 0x1111_1111_1111_1111L * n;
            x.signExponent[n] = 0x3FFF + n;
        }
    }

    private void run(String hex) {
        byte[] code = HexFormat.of().parseHex(hex.replace(" ", ""));
        cpu.mem.writeBytes(CODE, code, 0, code.length);
        cpu.rip = CODE;
        faultVector = -1;
        interpreter.step();
    }

    private void assertFaultLeavesStateAlone(String hex, int vector) {
        run(hex);
        assertThat(faultVector).as("%s raises %s", hex, CpuFault.name(vector)).isEqualTo(vector);
        assertThat(cpu.rip).isEqualTo(CODE);
        assertThat(cpu.fpu.top).as("TOP").isEqualTo(5);
        assertThat(cpu.fpu.tags).as("tags").isEqualTo(0x21);
        assertThat(cpu.fpu.signExponent[1]).isEqualTo(0x4000);
        assertThat(cpu.mem.read64(DATA)).as("memory").isZero();
    }

    @Test
    void emulatedFpuMakesMmxUndefined() {
        cpu.sys.cr.cr0 |= ControlRegisters.CR0_EM | ControlRegisters.CR0_TS;
        for (String hex : MMX_FORMS) {
            assertFaultLeavesStateAlone(hex, CpuFault.UD);
        }
    }

    @Test
    void taskSwitchedMakesMmxUnavailable() {
        cpu.sys.cr.cr0 |= ControlRegisters.CR0_TS;
        for (String hex : MMX_FORMS) {
            assertFaultLeavesStateAlone(hex, CpuFault.NM);
        }
    }

    @Test
    void pendingX87ExceptionRaisesMfBeforeTheMemoryOperand() {
        cpu.fpu.fcw = 0x037E;
        cpu.fpu.fsw = X87.IE | X87.ES | X87.B;
        assertFaultLeavesStateAlone("0f 6f 04 25 00 00 01 00", CpuFault.MF); // movq mm0, [0x10000]: unmapped
    }

    @Test
    void integerToFloatConversionsFromMemoryAreSseAlone() {
        cpu.fpu.fcw = 0x037E;
        cpu.fpu.fsw = X87.IE | X87.ES | X87.B;
        cpu.mem.write64(DATA, 0xFFFF_FFFF_0000_0003L); // -1, 3
        run("0f 2a 04 25 00 20 00 00"); // cvtpi2ps xmm0, [DATA]
        assertThat(faultVector).isEqualTo(-1);
        assertThat(cpu.xmm[0]).isEqualTo((long) Float.floatToRawIntBits(-1f) << 32 | Float.floatToRawIntBits(3f));
        run("66 0f 2a 0c 25 00 20 00 00"); // cvtpi2pd xmm1, [DATA]
        assertThat(faultVector).isEqualTo(-1);
        assertThat(cpu.xmm[2]).isEqualTo(Double.doubleToRawLongBits(3));
        assertThat(cpu.xmm[3]).isEqualTo(Double.doubleToRawLongBits(-1));
        assertThat(cpu.fpu.top).as("TOP").isEqualTo(5);
        assertThat(cpu.fpu.tags).as("tags").isEqualTo(0x21);
        run("0f 2a c1"); // cvtpi2ps xmm0, mm1
        assertThat(faultVector).isEqualTo(CpuFault.MF);
    }
}
