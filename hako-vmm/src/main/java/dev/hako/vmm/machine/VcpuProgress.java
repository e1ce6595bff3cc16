package dev.hako.vmm.machine;

/**
 * The watchdog's rule for one vCPU: it makes no progress while it keeps interrupts off (RFLAGS.IF clear, so no
 * timer or device can move it on), does not halt and touches no device (no port or MMIO access), and the watchdog
 * ends the VM once that has lasted the limit in the vCPU thread's CPU time. So an idle guest (HLT, or an AP
 * waiting for its SIPI) is never stuck, nor is one that polls a device or runs with interrupts on, however long;
 * what is caught is a spin with interrupts off ({@code cli; jmp $}, a deadlock), and an accelerator that returns
 * without running the guest (a KVM that cannot run it). Counting CPU time rather than wall time keeps a loaded
 * host, or a vCPU blocked writing to a full pipe, from looking stuck.
 *
 * <p>The watchdog thread asks for a sample ({@link #request}) and kicks the vCPU; the vCPU's own thread answers
 * at its next exit ({@link #sample}, {@link #idle}), as only it may look at its registers.
 */
final class VcpuProgress {
    private final long limitNanos;
    private volatile boolean requested;
    private boolean haltedSinceSample;
    private long accessesAtSample = -1;
    /** The vCPU thread's CPU time at the first sample of the current stretch without progress; -1 in none. */
    private long stuckSinceCpuNanos = -1;
    private long stuckForNanos;

    VcpuProgress(long limitNanos) {
        if (limitNanos <= 0) {
            throw new IllegalArgumentException("watchdog limit must be positive: " + limitNanos);
        }
        this.limitNanos = limitNanos;
    }

    long limitNanos() {
        return limitNanos;
    }

    /** From the watchdog thread: the vCPU should answer at its next exit. */
    void request() {
        requested = true;
    }

    boolean requested() {
        return requested;
    }

    /** The vCPU halted: progress, whatever it does next. */
    void halted() {
        haltedSinceSample = true;
    }

    /** On the vCPU thread while it waits (halted, or an AP before its SIPI): not stuck. */
    void idle() {
        requested = false;
        haltedSinceSample = false;
        stuckSinceCpuNanos = -1;
    }

    /**
     * On the vCPU thread: one sample of a vCPU that is running. Returns true when it has made no progress for
     * the limit: the caller ends the VM.
     */
    boolean sample(boolean interruptsEnabled, boolean halted, long accesses, long cpuNanos) {
        requested = false;
        boolean progress = interruptsEnabled || halted || haltedSinceSample || accesses != accessesAtSample;
        haltedSinceSample = false;
        accessesAtSample = accesses;
        if (progress) {
            stuckSinceCpuNanos = -1;
            return false;
        }
        if (stuckSinceCpuNanos < 0) {
            stuckSinceCpuNanos = cpuNanos;
        }
        stuckForNanos = cpuNanos - stuckSinceCpuNanos;
        return stuckForNanos >= limitNanos;
    }

    /** Why the VM ends, after {@link #sample} said so. */
    String reason() {
        return String.format(java.util.Locale.ROOT, "watchdog: no progress for %.1f s of CPU time (interrupts "
                + "off, no HLT, no port or MMIO access; the limit is --watchdog %.1f)", stuckForNanos / 1e9,
                limitNanos / 1e9);
    }
}
