package dev.hako.core.bus;

/** Width arithmetic shared by the buses and devices. */
public final class BusAccess {
    private BusAccess() {
    }

    /** The value an access of {@code size} bytes reads from nothing: all ones in that width. */
    public static long allOnes(int size) {
        return size >= 8 ? -1L : (1L << (size * 8)) - 1;
    }
}
