package dev.hako.devices.legacy;

import dev.hako.core.bus.PioDevice;
import dev.hako.devices.backend.CharBackend;

/**
 * The Bochs debug console, "port E9", as QEMU's {@code isa-debugcon} (QEMU hw/char/debugcon.c; Bochs's
 * {@code port_e9_hack} option; there is no written specification): one I/O port, 0xE9 by default, to
 * which a guest writes bytes that appear on the host, with no setup and no flow control, so firmware and test
 * kernels can print before they have any driver. A read returns the readback value, 0xE9 unless configured, by
 * which a guest detects the port (the bytes of a wider read above the port's read as an empty bus's ones).
 *
 * <p>Implemented: single-byte output; a wider write sends its low byte, as QEMU does when it splits an access to
 * the one-byte port. Not implemented: input (the port has none).
 *
 * <p>Guest control: the bytes written, which go to the host's file or terminal unchanged.
 */
public final class IsaDebugcon implements PioDevice {
    public static final int DEFAULT_IOBASE = 0xE9;
    public static final int DEFAULT_READBACK = 0xE9;
    public static final int PORT_COUNT = 1;

    private final CharBackend out;
    private final int readback;

    public IsaDebugcon(CharBackend out, int readback) {
        this.out = out;
        this.readback = readback & 0xFF;
    }

    @Override
    public long read(int vcpu, long offset, int size) {
        return -1L << 8 | readback;
    }

    @Override
    public void write(int vcpu, long offset, int size, long value) {
        out.write((int) value & 0xFF);
    }
}
