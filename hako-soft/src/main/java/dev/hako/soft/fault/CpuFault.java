package dev.hako.soft.fault;

/**
 * A guest exception raised mid-instruction and caught by the run loop: Java's longjmp. One preallocated,
 * stackless instance per vCPU is reused, so raising a fault allocates nothing.
 */
public final class CpuFault extends RuntimeException {
    public static final int DE = 0, DB = 1, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8, TS = 10, NP = 11,
            SS = 12, GP = 13, PF = 14, MF = 16, AC = 17, XM = 19;

    private int vector;
    private int errorCode;
    private boolean hasErrorCode;
    private long address;
    /** Set by {@link #nonCanonical}: the fault is a memory access to a non-canonical linear address. */
    private boolean nonCanonical;
    private long linear;

    public CpuFault() {
        super(null, null, false, false);
    }

    /** Fills in the fault and returns this instance for {@code throw}. */
    public CpuFault raise(int vector, int errorCode, boolean hasErrorCode, long address) {
        this.vector = vector;
        this.errorCode = errorCode;
        this.hasErrorCode = hasErrorCode;
        this.address = address;
        this.nonCanonical = false;
        return this;
    }

    /**
     * The #GP(0) of a memory access to the non-canonical {@code linear} address (SDM vol. 1 §3.3.7.1). The MMU
     * does not know the segment: the run loop makes it #SS(0) when the access referenced the stack segment.
     */
    public CpuFault nonCanonical(long linear) {
        raise(GP, 0, true, 0);
        this.nonCanonical = true;
        this.linear = linear;
        return this;
    }

    /** True for a fault raised by {@link #nonCanonical} (and not raised again since). */
    public boolean isNonCanonical() {
        return nonCanonical;
    }

    /** The non-canonical address of a {@link #nonCanonical} fault. */
    public long linear() {
        return linear;
    }

    public int vector() {
        return vector;
    }

    public int errorCode() {
        return errorCode;
    }

    public boolean hasErrorCode() {
        return hasErrorCode;
    }

    /** The faulting linear address of a #PF (CR2), else 0. */
    public long address() {
        return address;
    }

    public static String name(int vector) {
        return switch (vector) {
            case DE -> "#DE"; case DB -> "#DB"; case BP -> "#BP"; case OF -> "#OF"; case BR -> "#BR";
            case UD -> "#UD"; case NM -> "#NM"; case DF -> "#DF"; case TS -> "#TS"; case NP -> "#NP";
            case SS -> "#SS"; case GP -> "#GP"; case PF -> "#PF"; case MF -> "#MF"; case AC -> "#AC";
            case XM -> "#XM";
            default -> "vector " + vector;
        };
    }

    @Override
    public String getMessage() {
        return name(vector) + (hasErrorCode ? " error " + errorCode : "")
                + (vector == PF ? String.format(" at %#x", address) : "");
    }
}
