package dev.hako.vmm.firmware;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Builds one ACPI system description table: the 36-byte header (ACPI 6.5 5.2.6, "System Description Table
 * Header") followed by the body; {@link #build} fills in the length and the checksum that makes all bytes sum to
 * zero. Bodies are written at absolute table offsets, as the spec's field tables give them.
 */
public final class AcpiTable {
    public static final int HEADER_SIZE = 36;
    public static final int SIGNATURE = 0, LENGTH = 4, REVISION = 8, CHECKSUM = 9, OEM_ID = 10, OEM_TABLE_ID = 16,
            OEM_REVISION = 24, CREATOR_ID = 28, CREATOR_REVISION = 32;
    public static final String OEM = "HAKO  ";
    public static final String CREATOR = "HAKO";

    private final ByteBuffer bytes;
    private int length;

    public AcpiTable(String signature, int revision, String oemTableId, int capacity) {
        bytes = ByteBuffer.allocate(capacity).order(ByteOrder.LITTLE_ENDIAN);
        putAscii(SIGNATURE, signature, 4);
        bytes.put(REVISION, (byte) revision);
        putAscii(OEM_ID, OEM, 6);
        putAscii(OEM_TABLE_ID, oemTableId, 8);
        bytes.putInt(OEM_REVISION, 1);
        putAscii(CREATOR_ID, CREATOR, 4);
        bytes.putInt(CREATOR_REVISION, 1);
        length = HEADER_SIZE;
    }

    public AcpiTable u8(int offset, int value) {
        bytes.put(offset, (byte) value);
        return grow(offset + 1);
    }

    public AcpiTable u16(int offset, int value) {
        bytes.putShort(offset, (short) value);
        return grow(offset + 2);
    }

    public AcpiTable u32(int offset, long value) {
        bytes.putInt(offset, (int) value);
        return grow(offset + 4);
    }

    public AcpiTable u64(int offset, long value) {
        bytes.putLong(offset, value);
        return grow(offset + 8);
    }

    public AcpiTable raw(int offset, byte[] data) {
        bytes.put(offset, data);
        return grow(offset + data.length);
    }

    /** A Generic Address Structure (ACPI 6.5 5.2.3.2). */
    public AcpiTable gas(int offset, GenericAddress address) {
        u8(offset, address.spaceId()).u8(offset + 1, address.bitWidth()).u8(offset + 2, address.bitOffset())
                .u8(offset + 3, address.accessSize());
        return u64(offset + 4, address.address());
    }

    /** Declares the table at least {@code size} bytes long (for trailing reserved fields). */
    public AcpiTable length(int size) {
        return grow(size);
    }

    public int currentLength() {
        return length;
    }

    public byte[] build() {
        byte[] table = new byte[length];
        bytes.putInt(LENGTH, length);
        bytes.put(CHECKSUM, (byte) 0);
        bytes.get(0, table);
        table[CHECKSUM] = checksumFor(table);
        return table;
    }

    /** The byte that makes {@code data} sum to zero modulo 256 (when its checksum field holds zero). */
    public static byte checksumFor(byte[] data, int from, int to) {
        int sum = 0;
        for (int i = from; i < to; i++) {
            sum += data[i];
        }
        return (byte) -sum;
    }

    static byte checksumFor(byte[] data) {
        return checksumFor(data, 0, data.length);
    }

    private AcpiTable grow(int end) {
        length = Math.max(length, end);
        return this;
    }

    private void putAscii(int offset, String text, int width) {
        byte[] ascii = text.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < width; i++) {
            bytes.put(offset + i, i < ascii.length ? ascii[i] : (byte) ' ');
        }
    }
}
