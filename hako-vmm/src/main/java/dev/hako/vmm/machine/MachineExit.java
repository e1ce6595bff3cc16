package dev.hako.vmm.machine;

import dev.hako.core.memory.GuestMemory;
import dev.hako.core.x86.X86CpuState;
import java.io.PrintStream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * How a machine's run ends: the first of the guest (power-off, reset, failure), the watchdog and the host to
 * report an end sets the exit status and reason, prints the reason once, and releases {@link #await}. Devices and
 * vCPU threads hold this, not the machine, so the builder can wire them before the machine exists.
 */
final class MachineExit {
    private final PrintStream log;
    private final CountDownLatch finished = new CountDownLatch(1);
    private volatile boolean stopping;
    private volatile int status = -1;
    private volatile String reason;
    /** Guest RAM, once it exists: failure reports show the instructions at RIP from it. */
    private volatile GuestMemory memory;
    /** Stops the vCPUs, once they exist: an end a vCPU reports stops it before its next block. */
    private volatile Runnable stopVcpus = () -> { };

    MachineExit(PrintStream log) {
        this.log = log;
    }

    void showCodeFrom(GuestMemory ram) {
        this.memory = ram;
    }

    private String dump(int vcpu, X86CpuState state) {
        GuestMemory ram = memory;
        return ram == null ? RegisterDump.format(vcpu, state) : RegisterDump.format(vcpu, state, ram);
    }

    /**
     * Has {@code stop} run when the machine ends. On the vCPU that powered off, it runs within that instruction,
     * so the vCPU retires nothing more: a deterministic run ends at the same count every time.
     */
    void onFinish(Runnable stop) {
        this.stopVcpus = stop;
    }

    boolean stopping() {
        return stopping;
    }

    /** Stops every thread of the machine without setting a status (the machine is being torn down). */
    void halt() {
        stopping = true;
    }

    int status() {
        return status;
    }

    String reason() {
        return reason;
    }

    /** Waits for an end; false if {@code timeout} passed first. */
    boolean await(long timeout, TimeUnit unit) throws InterruptedException {
        return finished.await(timeout, unit);
    }

    void guestPowerOff() {
        finish(Machine.EXIT_POWER_OFF, "guest powered off");
    }

    void guestReset() {
        finish(Machine.EXIT_POWER_OFF, "guest reset (hako does not reboot)");
    }

    void guestPanicked() {
        finish(Machine.EXIT_GUEST_PANIC, "the guest kernel panicked");
    }

    void guestFailed(int vcpu, String why, X86CpuState state) {
        String dump = state == null ? "" : "\n" + dump(vcpu, state);
        finish(why.startsWith("triple fault") ? Machine.EXIT_TRIPLE_FAULT : Machine.EXIT_FAILURE,
                "vCPU " + vcpu + ": " + why + dump);
    }

    void watchdogExpired(int vcpu, String why, X86CpuState state) {
        finish(Machine.EXIT_WATCHDOG, "vCPU " + vcpu + ": " + why + "\n" + dump(vcpu, state));
    }

    synchronized void finish(int exitStatus, String why) {
        if (status != -1 || finished.getCount() == 0) {
            return;
        }
        status = exitStatus;
        reason = why;
        log.println("hako: " + why);
        stopping = true;
        stopVcpus.run();
        finished.countDown();
    }
}
