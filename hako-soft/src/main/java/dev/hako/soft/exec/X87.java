package dev.hako.soft.exec;

/**
 * x87 FPU state. Each register holds an 80-bit extended-precision value as a 64-bit significand (with the
 * explicit integer bit) and a 16-bit sign-and-exponent, exactly as FXSAVE stores it.
 */
public final class X87 {
    public final long[] significand = new long[8];
    public final int[] signExponent = new int[8];
    /** Control word; 0x037F after FNINIT (all exceptions masked, 64-bit precision, round to nearest). */
    public int fcw = 0x037F;
    /** Status word without TOP, which is kept in {@link #top}. */
    public int fsw;
    public int top;
    /** Abridged tag: bit n set when physical register n holds a value. */
    public int tags;
    public int lastOpcode;
    public long lastIp, lastDp;

    public void reset() {
        fcw = 0x037F;
        fsw = 0;
        top = 0;
        tags = 0;
        lastOpcode = 0;
        lastIp = 0;
        lastDp = 0;
    }

    /** The status word as FNSTSW stores it, TOP included. */
    public int statusWord() {
        return (fsw & ~0x3800) | ((top & 7) << 11);
    }
}
