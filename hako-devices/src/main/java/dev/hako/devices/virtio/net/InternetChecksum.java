package dev.hako.devices.virtio.net;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The Internet checksum (RFC 1071: the ones' complement of the ones' complement sum of 16-bit big-endian words),
 * as a device completes it for a driver that asked for checksum offload (virtio 1.2 §5.1.6.2): the driver has put
 * the pseudo-header's sum into the checksum field, and the device sums from csum_start to the end of the frame
 * and stores the result in that field.
 */
final class InternetChecksum {
    private static final ValueLayout.OfInt BIG_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfShort BIG_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    /** What a computed zero is sent as (zero means "no checksum" to UDP), as Linux does. */
    private static final int MANGLED_ZERO = 0xFFFF;

    private InternetChecksum() {}

    /**
     * Sums {@code segment} from {@code start} to {@code end} and stores the checksum, big-endian, at
     * {@code field} (which lies within the summed bytes). The caller has checked the bounds.
     */
    static void complete(MemorySegment segment, long start, long field, long end) {
        int checksum = ~fold(sum(segment, start, end)) & 0xFFFF;
        segment.set(BIG_SHORT, field, (short) (checksum == 0 ? MANGLED_ZERO : checksum));
    }

    /** The 32-bit words' sum with end-around carries left in the upper half (folded by {@link #fold}). */
    static long sum(MemorySegment segment, long start, long end) {
        long sum = 0;
        long at = start;
        for (; at + 4 <= end; at += 4) {
            sum += Integer.toUnsignedLong(segment.get(BIG_INT, at));
        }
        if (at + 2 <= end) {
            sum += Short.toUnsignedInt(segment.get(BIG_SHORT, at));
            at += 2;
        }
        if (at < end) {
            sum += (segment.get(ValueLayout.JAVA_BYTE, at) & 0xFF) << 8;
        }
        return sum;
    }

    static int fold(long sum) {
        while (sum >>> 16 != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) sum;
    }
}
