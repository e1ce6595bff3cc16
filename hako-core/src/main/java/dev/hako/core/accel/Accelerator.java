package dev.hako.core.accel;

import dev.hako.core.memory.GuestMemory;

/** A way to run guest CPUs: hako's soft CPU, or KVM. */
public interface Accelerator {
    String name();

    /** A VM over {@code memory}, which the accelerator and the devices share. */
    VirtualMachine createVm(GuestMemory memory);
}
