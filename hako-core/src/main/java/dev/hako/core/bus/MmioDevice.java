package dev.hako.core.bus;

/**
 * A device behind guest-physical addresses. {@code offset} is relative to the start of the range the device
 * was registered at, {@code size} is 1, 2, 4 or 8 bytes. Implementations must not allocate.
 */
public interface MmioDevice {
    /** Returns the value read; only the low {@code size} bytes are used. */
    long read(int vcpu, long offset, int size);

    void write(int vcpu, long offset, int size, long value);
}
