package dev.hako.vmm.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A Multiboot (version 1) header found in an OS image (Multiboot Specification 0.6.96, 3.1.1): its offset in the
 * file, its flags and, when flag bit 16 is set, the address fields that say where the image loads and starts.
 * A header counts only when magic, flags and checksum add up to zero (mod 2^32); the search, like GRUB's and
 * QEMU's, goes on past a magic whose checksum is wrong.
 */
public record MultibootHeader(int offset, int flags, long headerAddr, long loadAddr, long loadEndAddr,
        long bssEndAddr, long entryAddr) {

    /** What a search of an image's first 8 KiB found. */
    public sealed interface Search permits Found, BadChecksum, Absent {}

    public record Found(MultibootHeader header) implements Search {}

    /** A magic at {@code offset} whose checksum does not complete it, and no valid header after it. */
    public record BadChecksum(int offset, int flags, int checksum) implements Search {}

    public record Absent() implements Search {}

    public boolean aoutKludge() {
        return (flags & Multiboot.HEADER_AOUT_KLUDGE) != 0;
    }

    /** Searches the 32-bit aligned offsets of the first 8192 bytes of {@code image}. */
    public static Search search(byte[] image) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        int limit = Math.min(image.length, Multiboot.HEADER_SEARCH_BYTES) - Multiboot.HEADER_FLAGS * 3;
        BadChecksum bad = null;
        for (int at = 0; at <= limit; at += 4) {
            if (b.getInt(at) != Multiboot.HEADER_MAGIC) {
                continue;
            }
            int flags = b.getInt(at + Multiboot.HEADER_FLAGS);
            int checksum = b.getInt(at + Multiboot.HEADER_CHECKSUM);
            if (Multiboot.HEADER_MAGIC + flags + checksum != 0) {
                if (bad == null) {
                    bad = new BadChecksum(at, flags, checksum);
                }
                continue;
            }
            if ((flags & Multiboot.HEADER_AOUT_KLUDGE) == 0) {
                return new Found(new MultibootHeader(at, flags, 0, 0, 0, 0, 0));
            }
            if (at + Multiboot.HEADER_WITH_ADDRESSES > image.length) {
                return new Found(new MultibootHeader(at, flags, -1, -1, -1, -1, -1));
            }
            return new Found(new MultibootHeader(at, flags, u32(b, at + Multiboot.HEADER_HEADER_ADDR),
                    u32(b, at + Multiboot.HEADER_LOAD_ADDR), u32(b, at + Multiboot.HEADER_LOAD_END_ADDR),
                    u32(b, at + Multiboot.HEADER_BSS_END_ADDR), u32(b, at + Multiboot.HEADER_ENTRY_ADDR)));
        }
        return bad != null ? bad : new Absent();
    }

    private static long u32(ByteBuffer b, int at) {
        return b.getInt(at) & 0xFFFF_FFFFL;
    }
}
