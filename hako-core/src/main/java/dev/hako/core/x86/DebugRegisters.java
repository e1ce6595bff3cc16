package dev.hako.core.x86;

/**
 * The debug registers (SDM vol. 3 §17.2): DR0-DR3 hold linear addresses, DR6 reports what raised the last #DB,
 * DR7 arms the four breakpoints. The field layouts are here once, for the soft CPU and the debugger alike.
 */
public final class DebugRegisters {
    /** DR6: breakpoint n's condition was met (B0-B3, bits 0-3). */
    public static final long DR6_B0 = 1, DR6_BREAKPOINTS = 0xF;
    /** DR6.BD: a MOV DR with DR7.GD set; DR6.BS: single step (TF); DR6.BT: task switch. */
    public static final long DR6_BD = 1L << 13, DR6_BS = 1L << 14, DR6_BT = 1L << 15;
    /** The bits of DR6 that MOV writes; the others read as {@link #DR6_FIXED}'s. */
    public static final long DR6_WRITABLE = DR6_BREAKPOINTS | DR6_BD | DR6_BS | DR6_BT;
    /** DR6's reserved bits that read as 1 (bits 4-11 and 16-31; bit 12 reads as 0): DR6 at reset. */
    public static final long DR6_FIXED = 0xFFFF0FF0L;
    /** DR7.GD: general detect, a #DB before any MOV DR. */
    public static final long DR7_GD = 1L << 13;
    /** The bits of DR7 that MOV writes: L0-G3, LE, GE, GD, R/W0-LEN3; bit 10 reads as 1, 11, 12, 14 and 15 as 0. */
    public static final long DR7_WRITABLE = 0xFFFF_23FFL;
    /** DR7's bit 10, which reads as 1: DR7 at reset. */
    public static final long DR7_FIXED = 0x400;
    /** The R/W field's conditions: an instruction fetch, a data write, an I/O access (CR4.DE), a data read or write. */
    public static final int RW_EXECUTE = 0, RW_WRITE = 1, RW_IO = 2, RW_READ_WRITE = 3;
    public static final int BREAKPOINTS = 4;

    private DebugRegisters() {}

    /** Breakpoint {@code n} is enabled: its local or global bit in DR7. */
    public static boolean enabled(long dr7, int n) {
        return (dr7 >>> (2 * n) & 3) != 0;
    }

    /** Breakpoint {@code n}'s condition, one of the {@code RW_} values. */
    public static int condition(long dr7, int n) {
        return (int) (dr7 >>> (16 + 4 * n)) & 3;
    }

    /** Breakpoint {@code n}'s length in bytes: LEN 00, 01, 11, 10 are 1, 2, 4 and 8 bytes. */
    public static int length(long dr7, int n) {
        return switch ((int) (dr7 >>> (18 + 4 * n)) & 3) {
            case 0 -> 1;
            case 1 -> 2;
            case 2 -> 8;
            default -> 4;
        };
    }

    /** DR7 for breakpoint {@code n} enabled (local) with {@code condition} over {@code length} bytes. */
    public static long arm(int n, int condition, int length) {
        int len = switch (length) {
            case 1 -> 0;
            case 2 -> 1;
            case 8 -> 2;
            case 4 -> 3;
            default -> throw new IllegalArgumentException("a breakpoint covers 1, 2, 4 or 8 bytes: " + length);
        };
        return (1L << (2 * n)) | ((long) (condition | len << 2) << (16 + 4 * n));
    }
}
