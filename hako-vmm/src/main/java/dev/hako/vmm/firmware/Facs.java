package dev.hako.vmm.firmware;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The Firmware ACPI Control Structure (ACPI 6.5 5.2.10): required by a FADT that is not hardware-reduced. It holds
 * the global lock and the waking vector, both unused by hako; it has no checksum and must be 64-byte aligned.
 */
public final class Facs {
    public static final int SIZE = 64;
    public static final int SIGNATURE = 0, LENGTH = 4, HARDWARE_SIGNATURE = 8, VERSION = 32;
    public static final int ALIGNMENT = 64;

    private Facs() {
    }

    public static byte[] build() {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.put(SIGNATURE, "FACS".getBytes(StandardCharsets.US_ASCII));
        b.putInt(LENGTH, SIZE);
        b.put(VERSION, (byte) 2);
        return b.array();
    }
}
