package dev.hako.soft.exec;

/** MSRs owned outside the CPU core (the local APIC's TSC deadline, hypervisor MSRs). */
public interface MsrHook {
    /** True if {@code index} is handled here; the value goes to {@code out[0]}. */
    boolean read(int index, long[] out);

    /** True if {@code index} is handled here (and the write was accepted). */
    boolean write(int index, long value);

    MsrHook NONE = new MsrHook() {
        @Override
        public boolean read(int index, long[] out) {
            return false;
        }

        @Override
        public boolean write(int index, long value) {
            return false;
        }
    };
}
