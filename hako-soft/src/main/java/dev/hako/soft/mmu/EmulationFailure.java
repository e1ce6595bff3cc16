package dev.hako.soft.mmu;

/**
 * Something the soft CPU cannot emulate (not a guest fault): the vCPU stops and the VM ends with a register
 * dump, as QEMU reports an emulation failure. Never used for conditions hardware reports to the guest.
 */
public final class EmulationFailure extends RuntimeException {
    public EmulationFailure(String message) {
        super(message);
    }
}
