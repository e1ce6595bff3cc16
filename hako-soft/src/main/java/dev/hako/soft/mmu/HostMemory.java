package dev.hako.soft.mmu;

import jdk.internal.misc.Unsafe;

/**
 * Plain loads and stores at host addresses, for the TLB's fast paths only. A memory segment's accessors check
 * the segment's bounds, its session and its read-only flag on every access; the RAM segment is a field, not a
 * constant, so C2 cannot fold those checks, and in translated code they cost a fifth of the run time (busybox
 * gzip under {@code hako user}: 4.7 s against 3.6 s). The TLB makes the bounds check redundant: a translation
 * enters it only for a whole page inside RAM ({@link Mmu} checks that when it fills an entry), and the fast
 * paths take an access only if it stays on its page.
 *
 * <p>{@code jdk.internal.misc.Unsafe} is what the segment accessors themselves end in; unlike
 * {@code sun.misc.Unsafe} it is not deprecated, but its package must be exported to hako
 * ({@code --add-exports java.base/jdk.internal.misc=dev.hako.soft}: the launcher and the build pass it).
 * Unaligned accesses are allowed, as on x86.
 */
final class HostMemory {
    private static final Unsafe UNSAFE = Unsafe.getUnsafe();

    private HostMemory() {}

    static byte get8(long address) {
        return UNSAFE.getByte(address);
    }

    static short get16(long address) {
        return UNSAFE.getShortUnaligned(null, address);
    }

    static int get32(long address) {
        return UNSAFE.getIntUnaligned(null, address);
    }

    static long get64(long address) {
        return UNSAFE.getLongUnaligned(null, address);
    }

    static void put8(long address, byte value) {
        UNSAFE.putByte(address, value);
    }

    static void put16(long address, short value) {
        UNSAFE.putShortUnaligned(null, address, value);
    }

    static void put32(long address, int value) {
        UNSAFE.putIntUnaligned(null, address, value);
    }

    static void put64(long address, long value) {
        UNSAFE.putLongUnaligned(null, address, value);
    }
}
