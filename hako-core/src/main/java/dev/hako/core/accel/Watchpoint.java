package dev.hako.core.accel;

/**
 * A debugger's data watchpoint: a stop after any instruction that accesses, as {@code kind} says, a byte of the
 * linear addresses {@code [address, address + length)}. The debugger's own: the guest never sees it.
 */
public record Watchpoint(long address, long length, Kind kind) {
    /** What access stops: GDB's Z2 (write), Z3 (read) and Z4 (either). */
    public enum Kind {
        WRITE, READ, ACCESS
    }

    public Watchpoint {
        if (length < 1) {
            throw new IllegalArgumentException("a watchpoint covers at least one byte: " + length);
        }
    }
}
