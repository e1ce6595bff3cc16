package dev.hako.kvm;

import static dev.hako.kvm.abi.KvmLayouts.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Converts between struct kvm_fpu and the 512-byte FXSAVE image X86CpuState carries (SDM vol. 1 table
 * 10-2): FCW at 0, FSW 2, abridged FTW 4, FOP 6, FIP 8, FDP 16, MXCSR 24, MXCSR_MASK 28, ST0-7 from 32 and
 * XMM0-15 from 160, 16 bytes each. kvm_fpu has the same fields, in another order.
 */
final class KvmFpuImage {
    private static final int FCW = 0, FSW = 2, FTW = 4, FOP = 6, FIP = 8, FDP = 16, MXCSR = 24, MXCSR_MASK = 28,
            ST0 = 32, XMM0 = 160;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    private KvmFpuImage() {}

    static void toFxsave(MemorySegment fpu, byte[] fxsave) {
        MemorySegment image = MemorySegment.ofArray(fxsave);
        image.fill((byte) 0);
        image.set(SHORT, FCW, fpu.get(SHORT, FPU_FCW));
        image.set(SHORT, FSW, fpu.get(SHORT, FPU_FSW));
        image.set(ValueLayout.JAVA_BYTE, FTW, fpu.get(ValueLayout.JAVA_BYTE, FPU_FTWX));
        image.set(SHORT, FOP, fpu.get(SHORT, FPU_LAST_OPCODE));
        image.set(LONG, FIP, fpu.get(LONG, FPU_LAST_IP));
        image.set(LONG, FDP, fpu.get(LONG, FPU_LAST_DP));
        image.set(INT, MXCSR, fpu.get(INT, FPU_MXCSR));
        image.set(INT, MXCSR_MASK, 0xFFFF);
        MemorySegment.copy(fpu, FPU_FPR, image, ST0, 8 * 16);
        MemorySegment.copy(fpu, FPU_XMM, image, XMM0, 16 * 16);
    }

    static void fromFxsave(byte[] fxsave, MemorySegment fpu) {
        MemorySegment image = MemorySegment.ofArray(fxsave);
        fpu.fill((byte) 0);
        fpu.set(SHORT, FPU_FCW, image.get(SHORT, FCW));
        fpu.set(SHORT, FPU_FSW, image.get(SHORT, FSW));
        fpu.set(ValueLayout.JAVA_BYTE, FPU_FTWX, image.get(ValueLayout.JAVA_BYTE, FTW));
        fpu.set(SHORT, FPU_LAST_OPCODE, image.get(SHORT, FOP));
        fpu.set(LONG, FPU_LAST_IP, image.get(LONG, FIP));
        fpu.set(LONG, FPU_LAST_DP, image.get(LONG, FDP));
        fpu.set(INT, FPU_MXCSR, image.get(INT, MXCSR));
        MemorySegment.copy(image, ST0, fpu, FPU_FPR, 8 * 16);
        MemorySegment.copy(image, XMM0, fpu, FPU_XMM, 16 * 16);
    }
}
