package dev.hako.soft.exec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.Mmu;
import dev.hako.soft.translate.BlockBuilder;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Relative branches out of the last canonical page, which no Linux process can map (so the host cannot be the
 * oracle): taken to a non-canonical target they raise #GP(0) at the branch with RIP, RSP and RCX unchanged and
 * nothing stored (SDM vol. 2 JMP, Jcc, CALL, LOOP: "#GP(0) if the target address is in a non-canonical form");
 * not taken they fall through. Interpreted and translated.
 */
class NonCanonicalBranchTest {
    /** The last canonical page of the lower half; the stack is the page below it. */
    private static final long PAGE = 0x7FFF_FFFF_F000L, STACK = PAGE - 0x800;
    /** Where the branch sits: 0x20 bytes before the boundary, so rel32 0x100 lands past it. */
    private static final long AT = PAGE + 0xFE0;

    private Cpu cpu;
    private Interpreter interpreter;
    private final int[] vector = {-1};

    private void setUp(boolean translated, String hex) {
        vector[0] = -1;
        MemorySegment ram = Arena.ofAuto().allocate(0x2000, 4096);
        cpu = new Cpu(new Mmu(ram, (gva, access) -> {
            if ((gva & ~0x1FFFL) != PAGE - 0x1000) {
                throw cpu.fault.nonCanonical(gva);
            }
            return gva - (PAGE - 0x1000) & ~0xFFFL;
        }));
        interpreter = new Interpreter(cpu, (c, fault, in) -> vector[0] = fault.vector(),
                new BlockBuilder(translated, 1));
        byte[] code = HexFormat.of().parseHex(hex.replace(" ", ""));
        cpu.mem.writeBytes(AT, code, 0, code.length);
        cpu.rip = AT;
        cpu.r[Cpu.RSP] = STACK;
        cpu.r[Cpu.RCX] = 5;
        cpu.setRflags(0x202, -1L);
    }

    private void assertFaultAtBranch() {
        interpreter.step();
        assertThat(vector[0]).isEqualTo(CpuFault.GP);
        assertThat(cpu.fault.errorCode()).isZero();
        assertThat(cpu.rip).isEqualTo(AT);
        assertThat(cpu.r[Cpu.RSP]).isEqualTo(STACK);
        assertThat(cpu.r[Cpu.RCX]).isEqualTo(5);
        assertThat(cpu.mem.read64(STACK - 8)).isZero();
    }

    @ParameterizedTest(name = "translated: {0}")
    @ValueSource(booleans = {false, true})
    void jmpCallJccAndLoopFaultWhenTaken(boolean translated) {
        for (String hex : new String[] {"e9 00 01 00 00", "e8 00 01 00 00", "0f 85 00 01 00 00", "e2 7f"}) {
            setUp(translated, hex);
            assertFaultAtBranch();
        }
    }

    @ParameterizedTest(name = "translated: {0}")
    @ValueSource(booleans = {false, true})
    void notTakenFallsThrough(boolean translated) {
        setUp(translated, "0f 84 00 01 00 00"); // jz, ZF clear
        interpreter.step();
        assertThat(vector[0]).isEqualTo(-1);
        assertThat(cpu.rip).isEqualTo(AT + 6);
    }

    @ParameterizedTest(name = "translated: {0}")
    @ValueSource(booleans = {false, true})
    void indirectTargetsAreChecked(boolean translated) {
        for (String hex : new String[] {"ff e0", "ff d0", "c3"}) {
            setUp(translated, hex);
            cpu.r[Cpu.RAX] = 0x8000_0000_0000_0000L;
            cpu.mem.write64(STACK, 0x0000_8000_0000_0000L);
            interpreter.step();
            assertThat(vector[0]).as(hex).isEqualTo(CpuFault.GP);
            assertThat(cpu.rip).isEqualTo(AT);
            assertThat(cpu.r[Cpu.RSP]).isEqualTo(STACK);
        }
    }
}
