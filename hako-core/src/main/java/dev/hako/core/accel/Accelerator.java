package dev.hako.core.accel;

import dev.hako.core.memory.GuestMemory;
import dev.hako.core.time.VirtualClock;

/** A way to run guest CPUs: hako's soft CPU, or KVM. */
public interface Accelerator {
    /** Every vCPU's TSC runs at this rate of guest time, as do the local APIC timers. */
    long TSC_HZ = 1_000_000_000L;

    String name();

    /**
     * A VM over {@code memory}, which the accelerator and the devices share; the vCPUs' TSCs count
     * {@code clock}'s guest time (at 1 GHz), so CPU and timer devices agree on time.
     */
    VirtualMachine createVm(GuestMemory memory, VirtualClock clock);
}
