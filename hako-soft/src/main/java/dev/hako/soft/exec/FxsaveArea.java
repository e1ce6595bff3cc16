package dev.hako.soft.exec;

/**
 * The 512-byte FXSAVE area (SDM vol. 1 10.5.1, tables 10-2 and 10-3): FCW, FSW, abridged FTW, FOP, FIP, FDP,
 * MXCSR, MXCSR_MASK, ST0-ST7 in 16-byte slots, XMM0-XMM15. Bytes 416-511 are neither written nor read.
 * Shared by the FXSAVE/FXRSTOR instructions, the system CPU and snapshots.
 */
public final class FxsaveArea {
    public static final int SIZE = 512;
    /** The MXCSR bits this CPU supports (DAZ is not). */
    public static final int MXCSR_MASK = 0xFFBF;
    public static final int FCW = 0, FSW = 2, FTW = 4, FOP = 6, FIP = 8, FCS = 12, FDP = 16, FDS = 20,
            MXCSR = 24, MXCSR_MASK_OFFSET = 28, ST0 = 32, XMM0 = 160;
    /** Bytes the instructions write: up to the end of XMM15. */
    public static final int WRITTEN = XMM0 + 16 * 16;

    private FxsaveArea() {}

    /** Fills {@code area[0..WRITTEN)} from the CPU; {@code wide} is the 64-bit (REX.W) format of FIP/FDP. */
    public static void store(Cpu cpu, byte[] area, boolean wide) {
        X87 x = cpu.fpu;
        put(area, FCW, 2, x.fcw);
        put(area, FSW, 2, x.statusWord());
        area[FTW] = (byte) x.tags;
        area[FTW + 1] = 0;
        put(area, FOP, 2, x.lastOpcode & 0x7FF);
        if (wide) {
            put(area, FIP, 8, x.lastIp);
            put(area, FDP, 8, x.lastDp);
        } else {
            put(area, FIP, 4, x.lastIp);
            put(area, FCS, 4, 0);
            put(area, FDP, 4, x.lastDp);
            put(area, FDS, 4, 0);
        }
        put(area, MXCSR, 4, cpu.mxcsr);
        put(area, MXCSR_MASK_OFFSET, 4, MXCSR_MASK);
        for (int i = 0; i < 8; i++) {
            int slot = ST0 + 16 * i;
            put(area, slot, 8, x.sig(i));
            put(area, slot + 8, 2, x.se(i));
            put(area, slot + 10, 6, 0);
        }
        for (int n = 0; n < 16; n++) {
            put(area, XMM0 + 16 * n, 8, cpu.xmm[2 * n]);
            put(area, XMM0 + 16 * n + 8, 8, cpu.xmm[2 * n + 1]);
        }
    }

    /** Whether the area's MXCSR may be loaded (FXRSTOR raises #GP(0) otherwise). */
    public static boolean mxcsrValid(byte[] area) {
        return (get(area, MXCSR, 4) & ~MXCSR_MASK & 0xFFFFFFFFL) == 0;
    }

    /** Loads the CPU from the area; the caller has checked {@link #mxcsrValid}. */
    public static void load(Cpu cpu, byte[] area, boolean wide) {
        X87 x = cpu.fpu;
        x.fcw = (int) get(area, FCW, 2);
        x.setStatusWord((int) get(area, FSW, 2));
        x.tags = area[FTW] & 0xFF;
        x.lastOpcode = (int) get(area, FOP, 2) & 0x7FF;
        x.lastIp = get(area, FIP, wide ? 8 : 4);
        x.lastDp = get(area, FDP, wide ? 8 : 4);
        cpu.mxcsr = (int) get(area, MXCSR, 4);
        for (int i = 0; i < 8; i++) {
            int p = x.physical(i);
            x.significand[p] = get(area, ST0 + 16 * i, 8);
            x.signExponent[p] = (int) get(area, ST0 + 16 * i + 8, 2);
        }
        for (int n = 0; n < 16; n++) {
            cpu.xmm[2 * n] = get(area, XMM0 + 16 * n, 8);
            cpu.xmm[2 * n + 1] = get(area, XMM0 + 16 * n + 8, 8);
        }
    }

    static void put(byte[] area, int offset, int size, long value) {
        for (int b = 0; b < size; b++) {
            area[offset + b] = (byte) (value >>> (8 * b));
        }
    }

    static long get(byte[] area, int offset, int size) {
        long v = 0;
        for (int b = size - 1; b >= 0; b--) {
            v = (v << 8) | (area[offset + b] & 0xFF);
        }
        return v;
    }
}
