package dev.hako.core.bus;

/**
 * A device behind x86 I/O ports. {@code offset} is relative to the base port the device was registered at,
 * {@code size} is 1, 2 or 4 bytes. Implementations must not allocate: these run mid-instruction on the soft
 * CPU and on every port exit under KVM.
 */
public interface PioDevice {
    /** Returns the value read; only the low {@code size} bytes are used. */
    long read(int vcpu, long offset, int size);

    void write(int vcpu, long offset, int size, long value);
}
