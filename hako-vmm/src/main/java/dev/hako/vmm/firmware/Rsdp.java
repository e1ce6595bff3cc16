package dev.hako.vmm.firmware;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The Root System Description Pointer, revision 2 (ACPI 6.5 5.2.5.3): 36 bytes, 16-byte aligned, found by the
 * OS either through a pointer (boot_params.acpi_rsdp_addr, PVH rsdp_paddr) or by scanning 0xE0000-0xFFFFF for
 * "RSD PTR ". The first checksum covers the ACPI 1.0 part (20 bytes), the extended one all 36.
 */
public final class Rsdp {
    public static final int SIZE = 36, ALIGNMENT = 16;
    public static final int SIGNATURE = 0, CHECKSUM = 8, OEM_ID = 9, REVISION = 15, RSDT_ADDRESS = 16,
            LENGTH = 20, XSDT_ADDRESS = 24, EXTENDED_CHECKSUM = 32;
    public static final int V1_SIZE = 20;
    public static final String SIGNATURE_TEXT = "RSD PTR ";

    private Rsdp() {
    }

    public static byte[] build(long rsdtGpa, long xsdtGpa) {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.put(SIGNATURE, SIGNATURE_TEXT.getBytes(StandardCharsets.US_ASCII));
        b.put(OEM_ID, AcpiTable.OEM.getBytes(StandardCharsets.US_ASCII));
        b.put(REVISION, (byte) 2);
        b.putInt(RSDT_ADDRESS, (int) rsdtGpa);
        b.putInt(LENGTH, SIZE);
        b.putLong(XSDT_ADDRESS, xsdtGpa);
        byte[] rsdp = b.array();
        rsdp[CHECKSUM] = AcpiTable.checksumFor(rsdp, 0, V1_SIZE);
        rsdp[EXTENDED_CHECKSUM] = AcpiTable.checksumFor(rsdp, 0, SIZE);
        return rsdp;
    }
}
