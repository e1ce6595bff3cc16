package dev.hako.vmm.firmware;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * An encoder for the part of AML the DSDT needs (ACPI 6.5 §20.2, "AML Grammar Definition"): names, scopes,
 * devices, packages, integers, EISA IDs and buffers, and the resource descriptors of §6.4 that a PCI host
 * bridge's _CRS holds. Each method returns the encoded bytes of one term, so terms nest as they do in ASL.
 */
public final class Aml {
    static final int ZERO_OP = 0x00, ONE_OP = 0x01, NAME_OP = 0x08, BYTE_PREFIX = 0x0A, WORD_PREFIX = 0x0B,
            DWORD_PREFIX = 0x0C, STRING_PREFIX = 0x0D, QWORD_PREFIX = 0x0E, SCOPE_OP = 0x10, BUFFER_OP = 0x11,
            PACKAGE_OP = 0x12, EXT_OP_PREFIX = 0x5B, DEVICE_OP = 0x82, ROOT_CHAR = '\\';
    /** Resource descriptor tags (§6.4.2 small, §6.4.3 large). */
    static final int IO_PORT = 0x47, END_TAG = 0x79, DWORD_ADDRESS = 0x87, WORD_ADDRESS = 0x88, QWORD_ADDRESS = 0x8A;
    /** Address space resource types. */
    public static final int SPACE_MEMORY = 0, SPACE_IO = 1, SPACE_BUS = 2;
    /** General flags of a bridge window: a producer with fixed minimum and maximum (_MIF, _MAF). */
    static final int WINDOW_FLAGS = 0x0C;
    /** Type-specific flags: memory cacheable and read-write; I/O decoding the entire range. */
    static final int MEMORY_CACHEABLE_RW = 0x03, IO_ENTIRE_RANGE = 0x03;

    private Aml() {
    }

    /** {@code Name (name, object)}. */
    public static byte[] name(String name, byte[] object) {
        return concat(new byte[] {NAME_OP}, nameString(name), object);
    }

    /** {@code Scope (path) { terms }}. */
    public static byte[] scope(String path, byte[]... terms) {
        return concat(new byte[] {SCOPE_OP}, withPkgLength(concat(nameString(path), concat(terms))));
    }

    /** {@code Device (name) { terms }}. */
    public static byte[] device(String name, byte[]... terms) {
        return concat(new byte[] {EXT_OP_PREFIX, (byte) DEVICE_OP}, withPkgLength(concat(nameString(name),
                concat(terms))));
    }

    /** {@code Package (n) { elements }} for up to 255 elements. */
    public static byte[] packageOf(byte[]... elements) {
        if (elements.length > 255) {
            throw new IllegalArgumentException("a Package holds at most 255 elements");
        }
        return concat(new byte[] {PACKAGE_OP}, withPkgLength(concat(new byte[] {(byte) elements.length},
                concat(elements))));
    }

    /** {@code Buffer () { bytes }}. */
    public static byte[] buffer(byte[] bytes) {
        return concat(new byte[] {BUFFER_OP}, withPkgLength(concat(integer(bytes.length), bytes)));
    }

    /** The shortest integer encoding: ZeroOp, OneOp, or a byte, word, dword or qword constant. */
    public static byte[] integer(long value) {
        if (value == 0) {
            return new byte[] {ZERO_OP};
        }
        if (value == 1) {
            return new byte[] {ONE_OP};
        }
        if (value > 0 && value <= 0xFF) {
            return new byte[] {BYTE_PREFIX, (byte) value};
        }
        if (value > 0 && value <= 0xFFFF) {
            return concat(new byte[] {WORD_PREFIX}, le(value, 2));
        }
        if (value > 0 && value <= 0xFFFF_FFFFL) {
            return concat(new byte[] {DWORD_PREFIX}, le(value, 4));
        }
        return concat(new byte[] {QWORD_PREFIX}, le(value, 8));
    }

    public static byte[] string(String text) {
        return concat(new byte[] {STRING_PREFIX}, text.getBytes(StandardCharsets.US_ASCII), new byte[] {0});
    }

    /** {@code EisaId ("PNP0A08")}: three letters of five bits and four hex digits, as a dword. */
    public static byte[] eisaId(String id) {
        if (!id.matches("[A-Z]{3}[0-9A-F]{4}")) {
            throw new IllegalArgumentException("not an EISA ID: " + id);
        }
        int value = (id.charAt(0) - 0x40) << 26 | (id.charAt(1) - 0x40) << 21 | (id.charAt(2) - 0x40) << 16
                | Integer.parseInt(id.substring(3), 16);
        return concat(new byte[] {DWORD_PREFIX}, le(Integer.reverseBytes(value) & 0xFFFF_FFFFL, 4));
    }

    /** {@code ResourceTemplate () { descriptors }}: the descriptors and an end tag, as a buffer. */
    public static byte[] resourceTemplate(byte[]... descriptors) {
        return buffer(concat(concat(descriptors), new byte[] {END_TAG, 0}));
    }

    /** A 16-bit I/O port descriptor with a fixed range (§6.4.2.5). */
    public static byte[] ioPort(int first, int count) {
        return concat(new byte[] {IO_PORT, 1}, le(first, 2), le(first, 2), new byte[] {1, (byte) count});
    }

    /** WordBusNumber or WordIO window (§6.4.3.5.3) from {@code min} to {@code max} inclusive. */
    public static byte[] wordWindow(int space, int min, int max) {
        int flags = space == SPACE_IO ? IO_ENTIRE_RANGE : 0;
        return concat(new byte[] {(byte) WORD_ADDRESS, 0x0D, 0, (byte) space, WINDOW_FLAGS, (byte) flags},
                le(0, 2), le(min, 2), le(max, 2), le(0, 2), le(max - min + 1L, 2));
    }

    /** DWordMemory window (§6.4.3.5.2). */
    public static byte[] dwordMemory(long min, long max) {
        return concat(new byte[] {(byte) DWORD_ADDRESS, 0x17, 0, SPACE_MEMORY, WINDOW_FLAGS, MEMORY_CACHEABLE_RW},
                le(0, 4), le(min, 4), le(max, 4), le(0, 4), le(max - min + 1, 4));
    }

    /** QWordMemory window (§6.4.3.5.1). */
    public static byte[] qwordMemory(long min, long max) {
        return concat(new byte[] {(byte) QWORD_ADDRESS, 0x2B, 0, SPACE_MEMORY, WINDOW_FLAGS, MEMORY_CACHEABLE_RW},
                le(0, 8), le(min, 8), le(max, 8), le(0, 8), le(max - min + 1, 8));
    }

    /** A NameString: an optional root prefix and dot-separated segments, each padded to four characters. */
    static byte[] nameString(String path) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        String rest = path;
        if (rest.startsWith("\\")) {
            out.write(ROOT_CHAR);
            rest = rest.substring(1);
        }
        String[] segments = rest.split("\\.");
        if (segments.length == 2) {
            out.write(0x2E); // DualNamePrefix
        } else if (segments.length > 2) {
            out.write(0x2F); // MultiNamePrefix
            out.write(segments.length);
        }
        for (String segment : segments) {
            if (segment.isEmpty() || segment.length() > 4 || !segment.matches("[A-Z_][A-Z0-9_]*")) {
                throw new IllegalArgumentException("not an ACPI name segment: '" + segment + "'");
            }
            out.writeBytes((segment + "___").substring(0, 4).getBytes(StandardCharsets.US_ASCII));
        }
        return out.toByteArray();
    }

    /** PkgLength (§20.2.4) in front of {@code body}: it counts its own one to four bytes. */
    static byte[] withPkgLength(byte[] body) {
        for (int extra = 0; extra <= 3; extra++) {
            long total = body.length + 1L + extra;
            long limit = extra == 0 ? 0x40 : 1L << (4 + 8 * extra);
            if (total < limit) {
                byte[] out = new byte[(int) total];
                if (extra == 0) {
                    out[0] = (byte) total;
                } else {
                    out[0] = (byte) (extra << 6 | (total & 0xF));
                    for (int i = 1; i <= extra; i++) {
                        out[i] = (byte) (total >>> (4 + 8 * (i - 1)));
                    }
                }
                System.arraycopy(body, 0, out, 1 + extra, body.length);
                return out;
            }
        }
        throw new IllegalArgumentException("AML package of " + body.length + " bytes is too long");
    }

    static byte[] le(long value, int bytes) {
        byte[] out = new byte[bytes];
        for (int i = 0; i < bytes; i++) {
            out[i] = (byte) (value >>> (8 * i));
        }
        return out;
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
