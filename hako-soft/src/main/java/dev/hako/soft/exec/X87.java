package dev.hako.soft.exec;

import dev.hako.soft.fpu.Extended80;

/**
 * x87 FPU state. Each register holds an 80-bit extended-precision value as a 64-bit significand (with the
 * explicit integer bit) and a 16-bit sign-and-exponent, exactly as FXSAVE stores it. Arrays are indexed by
 * physical register; ST(i) is physical register (top + i) & 7. MMX register MMi is the significand of
 * physical register i (see {@link Mmx}).
 */
public final class X87 {
    /** FSW bits. */
    public static final int IE = 1, DE = 2, ZE = 4, OE = 8, UE = 0x10, PE = 0x20, SF = 0x40, ES = 0x80,
            C0 = 0x100, C1 = 0x200, C2 = 0x400, C3 = 0x4000, B = 0x8000;
    public static final int EXCEPTIONS = 0x3F;

    public final long[] significand = new long[8];
    public final int[] signExponent = new int[8];
    /** Control word; 0x037F after FNINIT (all exceptions masked, 64-bit precision, round to nearest). */
    public int fcw = 0x037F;
    /** Status word without TOP, which is kept in {@link #top}. */
    public int fsw;
    public int top;
    /** Abridged tag: bit n set when physical register n holds a value. */
    public int tags;
    /** FOP: the low three bits of the first opcode byte and the ModRM byte of the last non-control instruction. */
    public int lastOpcode;
    public long lastIp, lastDp;
    /** The arithmetic unit, carrying the current instruction's controls and flags. */
    public final Extended80 alu = new Extended80();
    /** Scratch for FXSAVE/FXRSTOR, so the instructions allocate nothing. */
    final byte[] fxsaveScratch = new byte[FxsaveArea.SIZE];

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

    /** Loads FSW, TOP included. */
    public void setStatusWord(int value) {
        fsw = value & ~0x3800 & 0xFFFF;
        top = (value >>> 11) & 7;
    }

    public int physical(int i) {
        return (top + i) & 7;
    }

    public boolean isEmpty(int i) {
        return (tags & (1 << physical(i))) == 0;
    }

    public int se(int i) {
        return signExponent[physical(i)];
    }

    public long sig(int i) {
        return significand[physical(i)];
    }

    /** Writes ST(i) and marks it valid. */
    public void set(int i, int se, long sig) {
        int p = physical(i);
        signExponent[p] = se & 0xFFFF;
        significand[p] = sig;
        tags |= 1 << p;
    }

    /** Decrements TOP and writes the new ST(0); the caller has checked for stack overflow. */
    public void push(int se, long sig) {
        top = (top - 1) & 7;
        set(0, se, sig);
    }

    /** Marks ST(0) empty and increments TOP. */
    public void pop() {
        tags &= ~(1 << top);
        top = (top + 1) & 7;
    }

    /**
     * The full tag word (two bits per physical register: 00 valid, 01 zero, 10 special, 11 empty) as
     * FNSTENV and FNSAVE store it, derived from the abridged tags and the register contents.
     */
    public int fullTagWord() {
        int word = 0;
        for (int p = 0; p < 8; p++) {
            int tag;
            if ((tags & (1 << p)) == 0) {
                tag = 3;
            } else {
                int cls = Extended80.classify(signExponent[p], significand[p]);
                tag = cls == Extended80.NORMAL ? 0 : cls == Extended80.ZERO ? 1 : 2;
            }
            word |= tag << (2 * p);
        }
        return word;
    }

    /** Loads the abridged tags from a full tag word: only "empty" survives, as on hardware. */
    public void setFullTagWord(int word) {
        int abridged = 0;
        for (int p = 0; p < 8; p++) {
            if (((word >>> (2 * p)) & 3) != 3) {
                abridged |= 1 << p;
            }
        }
        tags = abridged;
    }
}
