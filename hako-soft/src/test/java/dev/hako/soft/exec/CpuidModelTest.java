package dev.hako.soft.exec;

import static org.assertj.core.api.Assertions.assertThat;

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
        cpu.r[Cpu.RAX] = leaf;
        cpu.r[Cpu.RCX] = 0;
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
}
