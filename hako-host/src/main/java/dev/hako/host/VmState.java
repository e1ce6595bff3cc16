package dev.hako.host;

/** Where a VM of a host is in its life; the JSON and metrics use the lower-case names. */
public enum VmState {
    /** Defined, never started. */
    DEFINED,
    RUNNING,
    PAUSED,
    /** Ended by a power-off of the guest or by the host (stop). */
    STOPPED,
    /** Ended by a failure: a triple fault, an emulation failure, the watchdog, a guest panic. */
    CRASHED;

    /** Running or paused: the VM has a machine. */
    public boolean active() {
        return this == RUNNING || this == PAUSED;
    }

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
