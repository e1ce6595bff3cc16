package dev.hako.core.x86;

/**
 * The speculation-control interface (SDM vol. 4 table 2-2; Intel's "Speculative Execution Side Channel
 * Mitigations"): CPUID.(EAX=7,ECX=0):EDX enumeration, IA32_SPEC_CTRL, IA32_PRED_CMD and IA32_ARCH_CAPABILITIES.
 *
 * <p>The soft CPU predicts no branch and loads nothing speculatively in the guest's view, so it declares itself
 * immune to every side channel IA32_ARCH_CAPABILITIES has a bit for. Without that MSR, a Linux guest on an Intel
 * vendor string assumes the worst and turns on page-table isolation (two CR3 writes, each a TLB flush, per system
 * call and interrupt), return thunks on every kernel {@code ret} (ITS, since a hypervisor is present), and CPU
 * buffer clearing on every return to user space: costs with no benefit on this CPU. Linux treats any CPU with
 * enhanced IBRS as open to branch history injection whatever BHI_NO says, and clears the branch history with a
 * loop on every system call unless the CPU offers BHI_DIS_S, so the soft CPU offers it (a bit kept, as IBRS is).
 */
public final class SpeculationControl {
    public static final int IA32_SPEC_CTRL = 0x48, IA32_PRED_CMD = 0x49, IA32_ARCH_CAPABILITIES = 0x10A;

    /** CPUID.(EAX=7,ECX=0):EDX: IBRS and IBPB (IA32_SPEC_CTRL and IA32_PRED_CMD exist). */
    public static final int CPUID7_EDX_SPEC_CTRL = 1 << 26;
    /** CPUID.(EAX=7,ECX=0):EDX: IA32_ARCH_CAPABILITIES exists. */
    public static final int CPUID7_EDX_ARCH_CAPABILITIES = 1 << 29;
    /** CPUID.(EAX=7,ECX=0):EDX: VERW clears CPU buffers; STIBP; SSBD. */
    public static final int CPUID7_EDX_MD_CLEAR = 1 << 10, CPUID7_EDX_STIBP = 1 << 27, CPUID7_EDX_SSBD = 1 << 31;
    /**
     * The leaf 7 EDX bits a KVM guest sees from its host: the speculation controls, which change no instruction a
     * guest may run, and without which a Linux guest assumes the worst of the hardware under it.
     */
    public static final int CPUID7_EDX_HOST_SPECULATION_CONTROLS = CPUID7_EDX_SPEC_CTRL | CPUID7_EDX_STIBP
            | CPUID7_EDX_ARCH_CAPABILITIES | CPUID7_EDX_SSBD | CPUID7_EDX_MD_CLEAR;
    /** CPUID.(EAX=7,ECX=2):EDX: IA32_SPEC_CTRL.BHI_DIS_S exists. */
    public static final int CPUID7_2_EDX_BHI_CTRL = 1 << 4;

    /** IA32_SPEC_CTRL bits: IBRS, STIBP, SSBD, BHI_DIS_S. */
    public static final long SPEC_CTRL_IBRS = 1, SPEC_CTRL_STIBP = 1 << 1, SPEC_CTRL_SSBD = 1 << 2,
            SPEC_CTRL_BHI_DIS_S = 1 << 10;
    public static final long SPEC_CTRL_WRITABLE = SPEC_CTRL_IBRS | SPEC_CTRL_STIBP | SPEC_CTRL_SSBD
            | SPEC_CTRL_BHI_DIS_S;
    /** IA32_PRED_CMD bit 0: indirect branch prediction barrier. */
    public static final long PRED_CMD_IBPB = 1;

    /** IA32_ARCH_CAPABILITIES bits. */
    public static final long ARCH_CAP_RDCL_NO = 1L, ARCH_CAP_IBRS_ALL = 1L << 1, ARCH_CAP_SKIP_L1DFL_VMENTRY = 1L << 3,
            ARCH_CAP_SSB_NO = 1L << 4, ARCH_CAP_MDS_NO = 1L << 5, ARCH_CAP_PSCHANGE_MC_NO = 1L << 6,
            ARCH_CAP_TAA_NO = 1L << 8, ARCH_CAP_SBDR_SSDP_NO = 1L << 13, ARCH_CAP_FBSDP_NO = 1L << 14,
            ARCH_CAP_PSDP_NO = 1L << 15, ARCH_CAP_BHI_NO = 1L << 20, ARCH_CAP_PBRSB_NO = 1L << 24,
            ARCH_CAP_GDS_NO = 1L << 26, ARCH_CAP_RFDS_NO = 1L << 27, ARCH_CAP_ITS_NO = 1L << 62;

    /** What a CPU without speculation reports: immune to everything enumerated. */
    public static final long NOT_SPECULATIVE = ARCH_CAP_RDCL_NO | ARCH_CAP_IBRS_ALL | ARCH_CAP_SKIP_L1DFL_VMENTRY
            | ARCH_CAP_SSB_NO | ARCH_CAP_MDS_NO | ARCH_CAP_PSCHANGE_MC_NO | ARCH_CAP_TAA_NO | ARCH_CAP_SBDR_SSDP_NO
            | ARCH_CAP_FBSDP_NO | ARCH_CAP_PSDP_NO | ARCH_CAP_BHI_NO | ARCH_CAP_PBRSB_NO | ARCH_CAP_GDS_NO
            | ARCH_CAP_RFDS_NO | ARCH_CAP_ITS_NO;

    private SpeculationControl() {}
}
