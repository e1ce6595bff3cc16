package dev.hako.core.x86;

/**
 * The CPU features hako advertises to a guest whichever accelerator runs it (SDM vol. 2A, CPUID): an
 * x86-64 baseline the soft CPU implements (MMX, SSE2, CX16, POPCNT, LZCNT; no SSE3+, AVX, XSAVE, x2APIC or
 * TSC-deadline). The soft CPU answers CPUID with these bits; KVM's supported CPUID is masked down to them.
 */
public final class CpuidFeatures {
    /** Leaf 1 EDX: FPU, PSE, TSC, MSR, PAE, CX8, APIC, SEP, MTRR, PGE, CMOV, PAT, CLFSH, MMX, FXSR, SSE, SSE2. */
    public static final int LEAF1_EDX = bits(0, 3, 4, 5, 6, 8, 9, 11, 12, 13, 15, 16, 19, 23, 24, 25, 26);
    /** Leaf 1 ECX: CX16, POPCNT, and the hypervisor-present bit. */
    public static final int LEAF1_ECX = bits(13, 23, 31);
    /** Leaf 0x80000001 EDX: SYSCALL, NX, LM. */
    public static final int EXT1_EDX = bits(11, 20, 29);
    /** Leaf 0x80000001 ECX: LAHF/SAHF in long mode, LZCNT (ABM). */
    public static final int EXT1_ECX = bits(0, 5);

    private CpuidFeatures() {}

    private static int bits(int... positions) {
        int v = 0;
        for (int p : positions) {
            v |= 1 << p;
        }
        return v;
    }
}
