package dev.hako.soft.oracle;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Accessors for the 512-byte FXSAVE image (SDM vol. 1, 10.5.1, table 10-2, 64-bit layout): x87 control,
 * status and abridged tag words, MXCSR, ST0-ST7 in stack order (ST(i), not physical registers), XMM0-15.
 */
final class FxsaveImage {
    static final int SIZE = 512;
    static final int FCW = 0, FSW = 2, FTW = 4, FOP = 6, FIP = 8, FDP = 16, MXCSR = 24, MXCSR_MASK = 28,
            ST0 = 32, XMM0 = 160;

    private FxsaveImage() {}

    static ByteBuffer view(byte[] image) {
        return ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
    }

    static int fcw(byte[] f) {
        return view(f).getShort(FCW) & 0xFFFF;
    }

    static int fsw(byte[] f) {
        return view(f).getShort(FSW) & 0xFFFF;
    }

    /** Abridged tag: bit n set when physical register n is not empty. */
    static int ftw(byte[] f) {
        return f[FTW] & 0xFF;
    }

    static int top(byte[] f) {
        return (fsw(f) >>> 11) & 7;
    }

    static int mxcsr(byte[] f) {
        return view(f).getInt(MXCSR);
    }

    static long stSignificand(byte[] f, int i) {
        return view(f).getLong(ST0 + 16 * i);
    }

    static int stSignExponent(byte[] f, int i) {
        return view(f).getShort(ST0 + 16 * i + 8) & 0xFFFF;
    }

    static long xmmLow(byte[] f, int n) {
        return view(f).getLong(XMM0 + 16 * n);
    }

    static long xmmHigh(byte[] f, int n) {
        return view(f).getLong(XMM0 + 16 * n + 8);
    }

    static void setControl(byte[] f, int fcw, int fsw, int ftw, int mxcsr) {
        ByteBuffer b = view(f);
        b.putShort(FCW, (short) fcw);
        b.putShort(FSW, (short) fsw);
        f[FTW] = (byte) ftw;
        b.putInt(MXCSR, mxcsr);
    }

    static void setSt(byte[] f, int i, long significand, int signExponent) {
        ByteBuffer b = view(f);
        b.putLong(ST0 + 16 * i, significand);
        b.putShort(ST0 + 16 * i + 8, (short) signExponent);
        for (int k = 10; k < 16; k++) {
            f[ST0 + 16 * i + k] = 0;
        }
    }

    static void setXmm(byte[] f, int n, long low, long high) {
        ByteBuffer b = view(f);
        b.putLong(XMM0 + 16 * n, low);
        b.putLong(XMM0 + 16 * n + 8, high);
    }
}
