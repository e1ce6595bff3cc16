package dev.hako.vmm.machine;

import dev.hako.core.accel.IoHandler;
import dev.hako.core.bus.MmioBus;
import dev.hako.core.bus.PioBus;

/**
 * Routes a vCPU's port and MMIO accesses to the machine's buses, and counts them per vCPU and kind: an access is
 * a sign of progress to the {@link VcpuProgress} watchdog, and what a hardware-assisted vCPU would exit for (the
 * statistics' exits by kind). Each count is written by its own vCPU's thread only; others read a recent value.
 */
final class MachineIo implements IoHandler {
    /** Counts sit a cache line (8 longs) apart, so that vCPUs doing I/O do not share one. */
    private static final int STRIDE = 8;

    private final PioBus pio;
    private final MmioBus mmio;
    private final long[] accesses;

    MachineIo(PioBus pio, MmioBus mmio, int cpus) {
        this.pio = pio;
        this.mmio = mmio;
        this.accesses = new long[cpus * STRIDE];
    }

    private static final int PIO = 0, MMIO = 1;

    /** Port and MMIO accesses vCPU {@code vcpu} made so far. */
    long accesses(int vcpu) {
        return accesses[vcpu * STRIDE + PIO] + accesses[vcpu * STRIDE + MMIO];
    }

    long portAccesses(int vcpu) {
        return accesses[vcpu * STRIDE + PIO];
    }

    long mmioAccesses(int vcpu) {
        return accesses[vcpu * STRIDE + MMIO];
    }

    @Override
    public long pioRead(int vcpu, int port, int size) {
        accesses[vcpu * STRIDE]++;
        return pio.read(vcpu, port, size);
    }

    @Override
    public void pioWrite(int vcpu, int port, int size, long value) {
        accesses[vcpu * STRIDE]++;
        pio.write(vcpu, port, size, value);
    }

    @Override
    public long mmioRead(int vcpu, long gpa, int size) {
        accesses[vcpu * STRIDE + MMIO]++;
        return mmio.read(vcpu, gpa, size);
    }

    @Override
    public void mmioWrite(int vcpu, long gpa, int size, long value) {
        accesses[vcpu * STRIDE + MMIO]++;
        mmio.write(vcpu, gpa, size, value);
    }
}
