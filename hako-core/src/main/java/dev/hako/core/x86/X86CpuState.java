package dev.hako.core.x86;

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
}
