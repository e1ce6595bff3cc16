package dev.hako.vmm.machine;

import dev.hako.core.accel.IoHandler;
import dev.hako.core.bus.MmioBus;
import dev.hako.core.bus.PioBus;

/** Routes a vCPU's port and MMIO accesses to the machine's buses. */
final class MachineIo implements IoHandler {
    private final PioBus pio;
    private final MmioBus mmio;

    MachineIo(PioBus pio, MmioBus mmio) {
        this.pio = pio;
        this.mmio = mmio;
    }

    @Override
    public long pioRead(int vcpu, int port, int size) {
        return pio.read(vcpu, port, size);
    }

    @Override
    public void pioWrite(int vcpu, int port, int size, long value) {
        pio.write(vcpu, port, size, value);
    }

    @Override
    public long mmioRead(int vcpu, long gpa, int size) {
        return mmio.read(vcpu, gpa, size);
    }

    @Override
    public void mmioWrite(int vcpu, long gpa, int size, long value) {
        mmio.write(vcpu, gpa, size, value);
    }
}
