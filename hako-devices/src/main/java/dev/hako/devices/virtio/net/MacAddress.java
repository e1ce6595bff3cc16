package dev.hako.devices.virtio.net;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * An Ethernet MAC address (48 bits, in the order they go on the wire). A generated address is in the locally
 * administered, unicast range QEMU uses (52:54:00) and the rest comes from a digest of the VM's name, so the same
 * VM gets the same address on every boot and a DHCP server gives it the same lease.
 */
public record MacAddress(long bits) {
    private static final long QEMU_PREFIX = 0x5254_00L << 24;

    public MacAddress {
        if ((bits & ~0xFFFF_FFFF_FFFFL) != 0 || (bits >>> 40 & 1) != 0) {
            throw new IllegalArgumentException(String.format("%012x is not a 48-bit unicast MAC address", bits));
        }
    }

    /** "52:54:00:12:34:56" (hex digits, upper or lower case, separated by colons). */
    public static MacAddress parse(String text) {
        String[] parts = text.split(":", -1);
        if (parts.length != 6) {
            throw new IllegalArgumentException("MAC address " + text + ": expected six hex bytes like 52:54:00:12:34:56");
        }
        long bits = 0;
        for (String part : parts) {
            if (part.length() != 2 || !HexFormat.isHexDigit(part.charAt(0)) || !HexFormat.isHexDigit(part.charAt(1))) {
                throw new IllegalArgumentException("MAC address " + text + ": '" + part + "' is not a hex byte");
            }
            bits = bits << 8 | HexFormat.fromHexDigits(part);
        }
        if ((bits >>> 40 & 1) != 0) {
            throw new IllegalArgumentException("MAC address " + text + " is a multicast address");
        }
        return new MacAddress(bits);
    }

    /** The stable address of the VM called {@code name}: 52:54:00 and three bytes of the name's SHA-256. */
    public static MacAddress forName(String name) {
        byte[] digest;
        try {
            digest = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
        return new MacAddress(QEMU_PREFIX | (digest[0] & 0xFFL) << 16 | (digest[1] & 0xFFL) << 8 | digest[2] & 0xFFL);
    }

    /** Byte {@code i} (0 is the first on the wire). */
    public int octet(int i) {
        return (int) (bits >>> (8 * (5 - i))) & 0xFF;
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder(17);
        for (int i = 0; i < 6; i++) {
            s.append(i == 0 ? "" : ":").append(HexFormat.of().toHexDigits((byte) octet(i)));
        }
        return s.toString();
    }
}
