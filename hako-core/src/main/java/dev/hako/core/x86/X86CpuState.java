package dev.hako.core.x86;

import java.util.Arrays;
import java.util.Objects;

/**
 * The architectural state of one x86-64 vCPU: the one truth both accelerators load and store, for boot,
 * snapshots, debugging and lockstep tests. Segment attributes use the descriptor's access byte in bits 0-7
 * and its G/DB/L/AVL nibble in bits 12-15. x87, MMX, SSE state and MXCSR travel as a 512-byte FXSAVE image.
 */
public final class X86CpuState {
    public static final int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;

    public final long[] gpr = new long[16];
    public long rip;
    public long rflags = 2;
    public final int[] selector = new int[6];
    public final long[] segmentBase = new long[6];
    public final long[] segmentLimit = {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF};
    public final int[] segmentAttributes = {0x93, 0x9B, 0x93, 0x93, 0x93, 0x93};
    public long gdtBase;
    public int gdtLimit = 0xFFFF;
    public long idtBase;
    public int idtLimit = 0xFFFF;
    public int ldtSelector;
    public long ldtBase;
    public int ldtLimit;
    public int trSelector;
    public long trBase;
    public int trLimit = 0xFFFF;
    public int trAttributes = 0x8B;
    public long cr0 = 0x60000010L;
    public long cr2;
    public long cr3;
    public long cr4;
    public long cr8;
    public long efer;
    public long star, lstar, cstar, sfmask;
    public long kernelGsBase;
    public long sysenterCs, sysenterEsp, sysenterEip;
    public long pat = 0x0007040600070406L;
    public long tsc;
    public long apicBase = 0xFEE00800L;
    /**
     * MSR_KVM_STEAL_TIME as the guest wrote it: where the soft CPU reports steal time (KVM keeps this MSR itself,
     * so it stays 0 there).
     */
    public long kvmStealTime;
    /** IA32_SPEC_CTRL as the guest wrote it (the soft CPU's; KVM keeps this MSR itself, so it stays 0 there). */
    public long specCtrl;
    /** DR0-DR3, the breakpoints' linear addresses (or ports); the soft CPU's (KVM's stay at reset here). */
    public final long[] debugAddress = new long[DebugRegisters.BREAKPOINTS];
    /** DR6 and DR7 with their fixed bits, at reset {@code DR6_FIXED} and {@code DR7_FIXED} ({@link DebugRegisters}). */
    public long dr6 = DebugRegisters.DR6_FIXED, dr7 = DebugRegisters.DR7_FIXED;
    /** FXSAVE layout: FCW, FSW, FTW, ..., MXCSR at 24, ST0-7 from 32, XMM0-15 from 160. */
    public final byte[] fxsave = new byte[512];
    public boolean halted;

    /** The reset state of an x86 processor (SDM vol. 3 table 9-1), CS:IP = F000:FFF0. */
    public static X86CpuState atReset() {
        X86CpuState s = new X86CpuState();
        s.selector[CS] = 0xF000;
        s.segmentBase[CS] = 0xFFFF0000L;
        s.rip = 0xFFF0;
        s.gpr[2] = 0x600; // EDX: family 6
        java.nio.ByteBuffer.wrap(s.fxsave).order(java.nio.ByteOrder.LITTLE_ENDIAN).putShort(0, (short) 0x37F)
                .putInt(24, 0x1F80);
        return s;
    }

    /** An independent copy: a snapshot keeps one that later changes to this state cannot reach. */
    public X86CpuState copy() {
        X86CpuState c = new X86CpuState();
        c.rip = rip;
        c.rflags = rflags;
        c.gdtBase = gdtBase;
        c.idtBase = idtBase;
        c.ldtBase = ldtBase;
        c.trBase = trBase;
        c.cr0 = cr0;
        c.cr2 = cr2;
        c.cr3 = cr3;
        c.cr4 = cr4;
        c.cr8 = cr8;
        c.efer = efer;
        c.star = star;
        c.lstar = lstar;
        c.cstar = cstar;
        c.sfmask = sfmask;
        c.kernelGsBase = kernelGsBase;
        c.sysenterCs = sysenterCs;
        c.sysenterEsp = sysenterEsp;
        c.sysenterEip = sysenterEip;
        c.pat = pat;
        c.tsc = tsc;
        c.apicBase = apicBase;
        c.kvmStealTime = kvmStealTime;
        c.specCtrl = specCtrl;
        c.dr6 = dr6;
        c.dr7 = dr7;
        c.gdtLimit = gdtLimit;
        c.idtLimit = idtLimit;
        c.ldtSelector = ldtSelector;
        c.ldtLimit = ldtLimit;
        c.trSelector = trSelector;
        c.trLimit = trLimit;
        c.trAttributes = trAttributes;
        c.halted = halted;
        System.arraycopy(gpr, 0, c.gpr, 0, gpr.length);
        System.arraycopy(selector, 0, c.selector, 0, selector.length);
        System.arraycopy(segmentBase, 0, c.segmentBase, 0, segmentBase.length);
        System.arraycopy(segmentLimit, 0, c.segmentLimit, 0, segmentLimit.length);
        System.arraycopy(segmentAttributes, 0, c.segmentAttributes, 0, segmentAttributes.length);
        System.arraycopy(fxsave, 0, c.fxsave, 0, fxsave.length);
        System.arraycopy(debugAddress, 0, c.debugAddress, 0, debugAddress.length);
        return c;
    }

    /** Value equality over every field, so saved vCPU states compare by content. */
    @Override
    public boolean equals(Object other) {
        if (!(other instanceof X86CpuState o)) {
            return false;
        }
        return rip == o.rip && rflags == o.rflags && gdtBase == o.gdtBase && idtBase == o.idtBase &&
                ldtBase == o.ldtBase && trBase == o.trBase && cr0 == o.cr0 && cr2 == o.cr2 && cr3 == o.cr3 &&
                cr4 == o.cr4 && cr8 == o.cr8 && efer == o.efer && star == o.star && lstar == o.lstar &&
                cstar == o.cstar && sfmask == o.sfmask && kernelGsBase == o.kernelGsBase &&
                sysenterCs == o.sysenterCs && sysenterEsp == o.sysenterEsp && sysenterEip == o.sysenterEip &&
                pat == o.pat && tsc == o.tsc && apicBase == o.apicBase && kvmStealTime == o.kvmStealTime &&
                specCtrl == o.specCtrl && dr6 == o.dr6 && dr7 == o.dr7 &&
                Arrays.equals(debugAddress, o.debugAddress) &&
                gdtLimit == o.gdtLimit && idtLimit == o.idtLimit && ldtSelector == o.ldtSelector &&
                ldtLimit == o.ldtLimit && trSelector == o.trSelector && trLimit == o.trLimit &&
                trAttributes == o.trAttributes && halted == o.halted && Arrays.equals(gpr, o.gpr) &&
                Arrays.equals(selector, o.selector) &&
                Arrays.equals(segmentBase, o.segmentBase) && Arrays.equals(segmentLimit, o.segmentLimit) &&
                Arrays.equals(segmentAttributes, o.segmentAttributes) && Arrays.equals(fxsave, o.fxsave);
    }

    @Override
    public int hashCode() {
        return Objects.hash(rip, rflags, cr0, cr3, cr4, efer, Arrays.hashCode(gpr), Arrays.hashCode(fxsave));
    }
}
