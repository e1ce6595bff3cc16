package dev.hako.soft.exec;

import dev.hako.core.x86.DebugRegisters;
import dev.hako.soft.mmu.ControlRegisters;

/**
 * The system half of a vCPU's state: control registers, descriptor tables, segment registers, system MSRs,
 * debug registers, and the halt and interrupt-shadow conditions.
 */
public final class SystemState {
    /** Segment register numbers, in the order of the ModRM encoding of MOV Sreg. */
    public static final int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;

    public final ControlRegisters cr = new ControlRegisters();
    public long gdtBase;
    public int gdtLimit = 0xFFFF;
    /**
     * The GDT's entries when it is not in guest memory, else null: a user-mode process runs on its kernel's
     * GDT, which it cannot read (see {@link ProcessMode}).
     */
    public long[] gdtEntries;
    public long idtBase;
    public int idtLimit = 0xFFFF;
    public int ldtSelector;
    public long ldtBase;
    public int ldtLimit;
    public int trSelector;
    public long trBase;
    public int trLimit = 0xFFFF;

    public final int[] selector = new int[6];
    /** Bases of ES, CS, SS, DS (FS and GS bases live in {@link Cpu#fsBase} and {@link Cpu#gsBase}). */
    public final long[] base = new long[6];
    public final long[] limit = {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF};
    /** Descriptor attributes: access byte in bits 0-7, the G/DB/L/AVL nibble in bits 12-15. */
    public final int[] attributes = {0x93, 0x9B, 0x93, 0x93, 0x93, 0x93};

    public long star, lstar, cstar, sfmask;
    public long sysenterCs, sysenterEsp, sysenterEip;
    public long apicBase = 0xFEE00000L | (1 << 11);
    public long pat = 0x0007040600070406L;
    public long miscEnable = 1; // fast strings
    public long tscAux;
    /** Added to the host-derived counter to give the guest's TSC (WRMSR to IA32_TSC moves it). */
    public long tscOffset;
    /** IA32_TSC_ADJUST: what writes to the TSC have added (SDM vol. 3 17.17.3). */
    public long tscAdjust;
    /** MSR_KVM_STEAL_TIME as the guest wrote it: where its struct kvm_steal_time is, and whether enabled. */
    public long stealTimeMsr;
    /** IA32_SPEC_CTRL as the guest wrote it (IBRS, STIBP, SSBD): kept for reading back, with no effect. */
    public long specCtrl;
    public long mtrrDefType;
    public final long[] mtrrFixed = new long[11];
    public final long[] mtrrVariable = new long[16];
    /** DR0-DR7 as they read; DR4 and DR5 are never used (MOV aliases them to DR6 and DR7). */
    public final long[] dr = {0, 0, 0, 0, 0, 0, DebugRegisters.DR6_FIXED, DebugRegisters.DR7_FIXED};

    /** HLT executed; cleared when an interrupt is delivered or INIT/SIPI restarts the vCPU. */
    public boolean halted;
    /** The instruction at this address is in an interrupt shadow (after STI or MOV SS): no delivery before it. */
    public long interruptShadowRip = -1;
    /** Triple fault: the machine must reset or stop. */
    public boolean shutdown;
    /** Nesting of exception delivery, for the double-fault rules (-1 when not delivering). */
    public int deliveringVector = -1;

    /** CS.L: 64-bit code segment. */
    public boolean codeIs64() {
        return (attributes[CS] & 0x2000) != 0;
    }
}
