package dev.hako.devices.legacy;

import dev.hako.core.bus.PioDevice;

/**
 * QEMU's {@code isa-debug-exit} test device (QEMU hw/misc/debugexit.c; there is no written specification): a
 * range of I/O ports, {@code iosize} long, a write to which ends the virtual machine. A write of the value V
 * (1, 2 or 4 bytes, little-endian, only the bytes that fall inside the range) ends the run with exit status
 * {@code (V << 1) | 1}, so a test kernel can never end with 0, the status of an ordinary power-off; as with
 * QEMU, whose exit(2) keeps it, the status is its low 8 bits. A read returns 0 (the bytes of a read that reach past the
 * range read as an empty bus's ones).
 *
 * <p>Guest control: the value written, hence the status. A hostile guest can only end its own VM.
 */
public final class IsaDebugExit implements PioDevice {
    /** QEMU's defaults; hobby kernels and Rust's bootimage often choose iobase=0xf4,iosize=4. */
    public static final int DEFAULT_IOBASE = 0x501, DEFAULT_IOSIZE = 2;

    /** What the VMM does when the guest writes: end the VM with {@code status}. */
    @FunctionalInterface
    public interface Exit {
        void exit(long value, int status);
    }

    private final int iosize;
    private final Exit exit;

    /** @param exit called with the value and the exit status on each write (the VMM ends the VM at the first) */
    public IsaDebugExit(int iosize, Exit exit) {
        if (iosize < 1) {
            throw new IllegalArgumentException("isa-debug-exit iosize " + iosize + " is not positive");
        }
        this.iosize = iosize;
        this.exit = exit;
    }

    /** The status a write of {@code value} ends the VM with: (V << 1) | 1, as the host's exit(2) keeps it. */
    public static int status(long value) {
        return (int) ((value << 1) | 1) & 0xFF;
    }

    @Override
    public long read(int vcpu, long offset, int size) {
        int inside = (int) Math.min(size, iosize - offset);
        return inside >= 8 ? 0 : -1L << (inside * 8);
    }

    @Override
    public void write(int vcpu, long offset, int size, long value) {
        int inside = (int) Math.min(size, iosize - offset);
        long mask = inside >= 8 ? -1L : (1L << (inside * 8)) - 1;
        exit.exit(value & mask, status(value & mask));
    }
}
