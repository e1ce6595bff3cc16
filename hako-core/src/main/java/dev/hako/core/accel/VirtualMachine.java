package dev.hako.core.accel;

/** An accelerator's VM: owns the vCPUs, which see the machine's RAM and buses. */
public interface VirtualMachine extends AutoCloseable {
    VirtualCpu createVcpu(int index, IoHandler io, LocalInterrupts interrupts);

    @Override
    void close();
}
