package dev.hako.vmm.machine;

import dev.hako.core.accel.LocalInterrupts;
import dev.hako.core.irq.IrqChip;

/** One vCPU's view of the machine's interrupt controller, as the soft CPU asks it. */
final class ApicInterrupts implements LocalInterrupts {
    private final IrqChip chip;
    private final int vcpu;

    ApicInterrupts(IrqChip chip, int vcpu) {
        this.chip = chip;
        this.vcpu = vcpu;
    }

    @Override
    public int pendingVector() {
        return chip.hasPendingInterrupt(vcpu) ? 0 : -1;
    }

    @Override
    public int acknowledge() {
        return chip.acknowledge(vcpu);
    }

    @Override
    public boolean readMsr(int index, long[] out) {
        if (!chip.handlesMsr(index)) {
            return false;
        }
        out[0] = chip.readMsr(vcpu, index);
        return true;
    }

    @Override
    public boolean writeMsr(int index, long value) {
        if (!chip.handlesMsr(index)) {
            return false;
        }
        chip.writeMsr(vcpu, index, value);
        return true;
    }
}
