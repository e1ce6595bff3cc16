package dev.hako.soft.fpu;

import static dev.hako.soft.fpu.Extended80.*;

/** Ordered and unordered comparisons (FCOM, FUCOM, FCOMI, FTST) and FXAM's classification. */
public final class Comparison {
    public static final int LESS = -1, EQUAL = 0, GREATER = 1, UNORDERED = 2;
    /** FSW condition bits. */
    public static final int C0 = 0x100, C2 = 0x400, C3 = 0x4000;

    private Comparison() {}

    /**
     * Compares a with b. NaNs compare unordered and raise IE when signaling, or for any NaN when
     * {@code quiet} is false (FCOM); unsupported formats always raise IE.
     */
    public static int compare(Extended80 f, int seA, long sigA, int seB, long sigB, boolean quiet) {
        int ca = classify(seA, sigA), cb = classify(seB, sigB);
        if (ca == UNSUPPORTED || cb == UNSUPPORTED || ca == SNAN || cb == SNAN) {
            f.flags |= IE;
            return UNORDERED;
        }
        if (isNaN(ca) || isNaN(cb)) {
            if (!quiet) {
                f.flags |= IE;
            }
            return UNORDERED;
        }
        if (ca == DENORMAL || cb == DENORMAL) {
            f.flags |= DE;
        }
        if (ca == ZERO && cb == ZERO) {
            return EQUAL;
        }
        boolean negA = (seA & 0x8000) != 0, negB = (seB & 0x8000) != 0;
        if (ca == ZERO) {
            return negB ? GREATER : LESS;
        }
        if (cb == ZERO) {
            return negA ? LESS : GREATER;
        }
        if (negA != negB) {
            return negA ? LESS : GREATER;
        }
        int magnitude;
        if (ca == INF || cb == INF) {
            magnitude = ca == cb ? 0 : ca == INF ? 1 : -1;
        } else {
            int ea = normExp(seA, sigA), eb = normExp(seB, sigB);
            magnitude = ea != eb ? Integer.compare(ea, eb) : Long.compareUnsigned(normSig(sigA), normSig(sigB));
            magnitude = Integer.signum(magnitude);
        }
        return negA ? -magnitude : magnitude;
    }

    /** FSW condition bits C3 C2 C0 for a compare result. */
    public static int conditionBits(int result) {
        return switch (result) {
            case LESS -> C0;
            case EQUAL -> C3;
            case GREATER -> 0;
            default -> C3 | C2 | C0;
        };
    }

    /** FXAM: C3 C2 C0 for the class and C1 for the sign; {@code empty} for an empty register. */
    public static int examine(int se, long sig, boolean empty) {
        int c1 = (se & 0x8000) != 0 ? Extended80.C1 : 0;
        if (empty) {
            return C3 | C0 | c1;
        }
        return c1 | switch (classify(se, sig)) {
            case UNSUPPORTED -> 0;
            case QNAN, SNAN -> C0;
            case NORMAL -> C2;
            case INF -> C2 | C0;
            case ZERO -> C3;
            default -> C3 | C2; // denormal
        };
    }
}
