package dev.hako.vmm.machine;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The thread that asks every vCPU for a {@link VcpuProgress} sample a few times per limit (at most once every
 * 10 ms, at least once a second) and kicks it out of guest code to answer. The rule itself is VcpuProgress's.
 */
final class Watchdog {
    private static final long MIN_PERIOD = TimeUnit.MILLISECONDS.toNanos(10), MAX_PERIOD = TimeUnit.SECONDS.toNanos(1);

    private final MachineExit machineExit;
    private final VcpuThread[] vcpus;
    private final long periodNanos;
    private final Thread thread;

    Watchdog(MachineExit machineExit, VcpuThread[] vcpus, long limitNanos) {
        this.machineExit = machineExit;
        this.vcpus = vcpus;
        this.periodNanos = Math.clamp(limitNanos / 8, MIN_PERIOD, MAX_PERIOD);
        this.thread = Thread.ofPlatform().name("watchdog").daemon().unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    void stop() {
        thread.interrupt();
    }

    private void run() {
        while (!machineExit.stopping() && !Thread.currentThread().isInterrupted()) {
            LockSupport.parkNanos(this, periodNanos);
            for (VcpuThread vcpu : vcpus) {
                vcpu.askForProgress();
            }
        }
    }
}
