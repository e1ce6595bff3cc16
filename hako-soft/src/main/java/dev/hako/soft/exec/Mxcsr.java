package dev.hako.soft.exec;

import dev.hako.soft.fault.CpuFault;

/**
 * MXCSR (SDM vol. 1 10.2.3): the SSE exception flags, their masks, rounding control, DAZ and FTZ, and how an
 * instruction's detected exceptions are committed. Instructions compute into locals and call {@link #commit}
 * before writing their destination, so an unmasked exception leaves the destination unchanged, as on hardware.
 */
final class Mxcsr {
    static final int IE = 1, DE = 1 << 1, ZE = 1 << 2, OE = 1 << 3, UE = 1 << 4, PE = 1 << 5;
    static final int FLAGS = 0x3F;
    static final int DAZ = 1 << 6;
    static final int MASK_SHIFT = 7;
    static final int RC_SHIFT = 13;
    static final int FTZ = 1 << 15;
    /** Rounding control values. */
    static final int RN = 0, RD = 1, RU = 2, RZ = 3;
    /** Bits a guest may set (MXCSR_MASK as FXSAVE reports it); setting any other bit is #GP(0). */
    static final int WRITABLE = 0xFFFF;
    static final int RESET = 0x1F80;

    private Mxcsr() {}

    /**
     * Sets the flags of the exceptions an instruction detected. If any of them is unmasked, raises #XM
     * (with CR4.OSXMMEXCPT set, as every 64-bit OS runs) and the instruction writes nothing.
     */
    static void commit(Cpu c, int detected) {
        if (detected == 0) {
            return;
        }
        c.mxcsr |= detected;
        int unmasked = detected & ~(c.mxcsr >>> MASK_SHIFT) & FLAGS;
        if (unmasked != 0) {
            throw c.fault(CpuFault.XM);
        }
    }

    static int rounding(int mxcsr) {
        return (mxcsr >>> RC_SHIFT) & 3;
    }
}
