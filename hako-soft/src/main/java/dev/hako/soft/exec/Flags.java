package dev.hako.soft.exec;

/**
 * Lazy arithmetic flags. An instruction records what it computed ({@link Cpu#ccOp}, the operands, the
 * result and the size); CF, PF, AF, ZF, SF and OF are derived only when something reads them. Rarely
 * used producers (shifts, multiplies) store the flags ready-made as {@link #EAGER}.
 */
public final class Flags {
    public static final long CF = 1, PF = 1 << 2, AF = 1 << 4, ZF = 1 << 6, SF = 1 << 7, TF = 1 << 8,
            IF = 1 << 9, DF = 1 << 10, OF = 1 << 11, AC = 1 << 18, ID = 1 << 21;
    /** RFLAGS' system bits: nested task, resume (an instruction breakpoint does not fire), virtual-8086 mode. */
    public static final long NT = 1 << 14, RF = 1 << 16, VM = 1 << 17;
    public static final long ARITH = CF | PF | AF | ZF | SF | OF;

    /** Producers. {@code ccAux} holds the carry-in of ADC/SBB and the preserved CF of INC/DEC. */
    public static final int EAGER = 0, ADD = 1, ADC = 2, SUB = 3, SBB = 4, LOGIC = 5, INC = 6, DEC = 7;

    private static final long[] MASK = new long[9];
    private static final byte[] PARITY = new byte[256];

    static {
        MASK[1] = 0xFFL;
        MASK[2] = 0xFFFFL;
        MASK[4] = 0xFFFFFFFFL;
        MASK[8] = -1L;
        for (int i = 0; i < 256; i++) {
            PARITY[i] = (byte) ((Integer.bitCount(i) & 1) == 0 ? PF : 0);
        }
    }

    private Flags() {}

    public static long mask(int size) {
        return MASK[size];
    }

    public static long signBit(int size) {
        return 1L << (size * 8 - 1);
    }

    public static long parity(long result) {
        return PARITY[(int) (result & 0xFF)];
    }

    /** PF, ZF and SF of a {@code size}-byte result, for producers that compute their flags eagerly. */
    public static long resultFlags(long result, int size) {
        long r = result & MASK[size];
        return PARITY[(int) (r & 0xFF)] | (r == 0 ? ZF : 0) | ((r & signBit(size)) != 0 ? SF : 0);
    }

    /** The six arithmetic flags as RFLAGS bits. */
    public static long arith(Cpu c) {
        if (c.ccOp == EAGER) {
            return c.ccRes & ARITH;
        }
        int size = c.ccSize;
        long m = MASK[size];
        long res = c.ccRes & m;
        long a = c.ccSrc1 & m;
        long b = c.ccSrc2 & m;
        long sign = signBit(size);
        long f = PARITY[(int) (res & 0xFF)];
        if (res == 0) {
            f |= ZF;
        }
        if ((res & sign) != 0) {
            f |= SF;
        }
        switch (c.ccOp) {
            case ADD -> {
                if (Long.compareUnsigned(res, a) < 0) f |= CF;
                if (((a ^ res) & (b ^ res) & sign) != 0) f |= OF;
                f |= (a ^ b ^ res) & AF;
            }
            case ADC -> {
                if (Long.compareUnsigned(res, a) < 0 || (c.ccAux != 0 && res == a)) f |= CF;
                if (((a ^ res) & (b ^ res) & sign) != 0) f |= OF;
                f |= (a ^ b ^ res) & AF;
            }
            case SUB -> {
                if (Long.compareUnsigned(a, b) < 0) f |= CF;
                if (((a ^ b) & (a ^ res) & sign) != 0) f |= OF;
                f |= (a ^ b ^ res) & AF;
            }
            case SBB -> {
                if (Long.compareUnsigned(a, b) < 0 || (c.ccAux != 0 && a == b)) f |= CF;
                if (((a ^ b) & (a ^ res) & sign) != 0) f |= OF;
                f |= (a ^ b ^ res) & AF;
            }
            case LOGIC -> { }
            case INC -> {
                f |= c.ccAux & CF;
                if (res == sign) f |= OF;
                f |= (a ^ 1 ^ res) & AF;
            }
            case DEC -> {
                f |= c.ccAux & CF;
                if (res == sign - 1) f |= OF;
                f |= (a ^ 1 ^ res) & AF;
            }
            default -> throw new IllegalStateException("flag producer " + c.ccOp);
        }
        return f;
    }

    public static boolean cf(Cpu c) {
        int size = c.ccSize;
        long m = MASK[size];
        return switch (c.ccOp) {
            case ADD -> Long.compareUnsigned(c.ccRes & m, c.ccSrc1 & m) < 0;
            case SUB -> Long.compareUnsigned(c.ccSrc1 & m, c.ccSrc2 & m) < 0;
            case LOGIC -> false;
            default -> (arith(c) & CF) != 0;
        };
    }

    public static boolean zf(Cpu c) {
        return c.ccOp == EAGER ? (c.ccRes & ZF) != 0 : (c.ccRes & MASK[c.ccSize]) == 0;
    }

    public static boolean sf(Cpu c) {
        return c.ccOp == EAGER ? (c.ccRes & SF) != 0 : (c.ccRes & signBit(c.ccSize)) != 0;
    }

    /** Condition code {@code cc} (the low nibble of Jcc, SETcc, CMOVcc). */
    public static boolean condition(Cpu c, int cc) {
        if (c.ccOp == SUB) {
            // The common compare-and-branch case, answered straight from the operands.
            int size = c.ccSize;
            long m = MASK[size];
            long a = c.ccSrc1 & m, b = c.ccSrc2 & m;
            int shift = 64 - size * 8;
            long sa = a << shift >> shift, sb = b << shift >> shift;
            switch (cc) {
                case 0x2: return Long.compareUnsigned(a, b) < 0;
                case 0x3: return Long.compareUnsigned(a, b) >= 0;
                case 0x4: return a == b;
                case 0x5: return a != b;
                case 0x6: return Long.compareUnsigned(a, b) <= 0;
                case 0x7: return Long.compareUnsigned(a, b) > 0;
                case 0xC: return sa < sb;
                case 0xD: return sa >= sb;
                case 0xE: return sa <= sb;
                case 0xF: return sa > sb;
                default: break;
            }
        }
        long f = arith(c);
        boolean r = switch (cc >> 1) {
            case 0 -> (f & OF) != 0;
            case 1 -> (f & CF) != 0;
            case 2 -> (f & ZF) != 0;
            case 3 -> (f & (CF | ZF)) != 0;
            case 4 -> (f & SF) != 0;
            case 5 -> (f & PF) != 0;
            case 6 -> ((f & SF) != 0) != ((f & OF) != 0);
            default -> (f & ZF) != 0 || (((f & SF) != 0) != ((f & OF) != 0));
        };
        return (cc & 1) != 0 ? !r : r;
    }
}
