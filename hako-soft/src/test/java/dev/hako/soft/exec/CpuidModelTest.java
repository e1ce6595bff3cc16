package dev.hako.soft.exec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hako.core.x86.SpeculationControl;
import dev.hako.soft.fault.CpuFault;

import dev.hako.soft.mmu.Mmu;
import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

/**
 * The soft CPU's CPUID meets the x86-64 baseline glibc demands before it runs any dynamically linked program
 * (x86-64-v1: "CPU ISA level is lower than required" otherwise), and leaves AMD's extended MMX alone.
 */
class CpuidModelTest {
    private final Cpu cpu = new Cpu(new Mmu(Arena.ofAuto().allocate(4096, 4096), (gva, access) -> 0));

    private long[] cpuid(long leaf) {
        return cpuid(leaf, 0);
    }

    private long[] cpuid(long leaf, long subleaf) {
        cpu.r[Cpu.RAX] = leaf;
        cpu.r[Cpu.RCX] = subleaf;
        cpu.cpuid.execute(cpu);
        return new long[] {cpu.r[Cpu.RAX], cpu.r[Cpu.RBX], cpu.r[Cpu.RCX], cpu.r[Cpu.RDX]};
    }

    @Test
    void advertisesTheX8664BaselineGlibcRequires() {
        long edx = cpuid(1)[3];
        // glibc's baseline (sysdeps/x86/get-isa-level.h): FPU 0, CX8 8, CMOV 15, MMX 23, FXSR 24, SSE 25, SSE2 26.
        for (int bit : new int[] {0, 8, 15, 23, 24, 25, 26}) {
            assertThat(edx & (1L << bit)).as("leaf 1 EDX bit %d", bit).isNotZero();
        }
        long extendedEdx = cpuid(0x80000001L)[3];
        assertThat(extendedEdx & (1L << 11)).as("SYSCALL").isNotZero();
        assertThat(extendedEdx & (1L << 29)).as("long mode").isNotZero();
    }

    @Test
    void amdExtendedMmxBitsStayClearOnAnIntelModel() {
        long extendedEdx = cpuid(0x80000001L)[3];
        assertThat(extendedEdx & (7L << 22)).as("MMXEXT (22) and AMD's MMX/FXSR copies (23, 24)").isZero();
    }

    @Test
    void declaresNoSpeculationThroughArchCapabilitiesAndKeepsTheSpeculationControls() {
        long[] leaf7 = cpuid(7);
        assertThat(leaf7[0]).as("highest subleaf of leaf 7").isEqualTo(2);
        assertThat(leaf7[3] & (1L << 29)).as("IA32_ARCH_CAPABILITIES enumerated").isNotZero();
        assertThat(leaf7[3] & (1L << 26)).as("IBRS/IBPB: SPEC_CTRL and PRED_CMD").isNotZero();
        assertThat(cpuid(7, 2)[3] & (1L << 4)).as("BHI_CTRL").isNotZero();

        long caps = Msrs.read(cpu, 0x10A);
        // Linux's names: RDCL_NO 0, IBRS_ALL 1, SSB_NO 4, MDS_NO 5, PSCHANGE_MC_NO 6, TAA_NO 8, BHI_NO 20, ITS_NO 62.
        for (int bit : new int[] {0, 1, 4, 5, 6, 8, 20, 62}) {
            assertThat(caps & (1L << bit)).as("ARCH_CAPABILITIES bit %d", bit).isNotZero();
        }
        assertThat(caps & (1L << 2)).as("RSBA: RET never uses another predictor").isZero();

        long ibrsAndBhiDisS = 1 | (1 << 10);
        Msrs.write(cpu, 0x48, ibrsAndBhiDisS);
        assertThat(Msrs.read(cpu, 0x48)).isEqualTo(ibrsAndBhiDisS);
        Msrs.write(cpu, 0x49, 1); // IBPB: accepted, nothing to flush
        assertThatThrownBy(() -> Msrs.write(cpu, 0x48, 1 << 3)).isInstanceOf(CpuFault.class);
        assertThatThrownBy(() -> Msrs.write(cpu, 0x49, 2)).isInstanceOf(CpuFault.class);
        assertThatThrownBy(() -> Msrs.write(cpu, 0x10A, 0)).as("read-only").isInstanceOf(CpuFault.class);
        assertThatThrownBy(() -> Msrs.read(cpu, 0x49)).as("write-only").isInstanceOf(CpuFault.class);
        assertThat(SpeculationControl.NOT_SPECULATIVE).isEqualTo(caps);
    }
}
