package dev.hako.core.accel;

/**
 * A vCPU's local interrupt controller as the CPU sees it (the local APIC): the highest pending vector it
 * would deliver now, acknowledging it, and the MSRs it owns.
 */
public interface LocalInterrupts {
    /** The vector to deliver now (respecting TPR/PPR), or -1. */
    int pendingVector();

    /** INTA: moves the pending vector into service and returns it (-1 if it vanished). */
    int acknowledge();

    /** Reads an MSR the controller owns (TSC deadline, x2APIC); false if not its MSR. */
    default boolean readMsr(int index, long[] out) {
        return false;
    }

    /** Writes an MSR the controller owns; false if not its MSR. */
    default boolean writeMsr(int index, long value) {
        return false;
    }

    LocalInterrupts NONE = new LocalInterrupts() {
        @Override
        public int pendingVector() {
            return -1;
        }

        @Override
        public int acknowledge() {
            return -1;
        }
    };
}
