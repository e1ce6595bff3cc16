package dev.hako.vmm.boot;

import dev.hako.core.memory.GuestMemory;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** An independent 4-level page walk (SDM Vol. 3A 4.5.4) over guest memory, for checking built tables. */
final class PageWalk {
    private static final ValueLayout.OfLong ENTRY = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long ADDRESS = 0x000F_FFFF_FFFF_F000L;

    private PageWalk() {
    }

    /** The physical address {@code linear} maps to, or -1 when a level is not present or not writable. */
    static long translate(GuestMemory memory, long cr3, long linear) {
        long table = cr3 & ADDRESS;
        for (int level = 4; level >= 1; level--) {
            int index = (int) ((linear >>> (12 + 9 * (level - 1))) & 0x1FF);
            long entry = memory.segment().get(ENTRY, table + index * 8L);
            if ((entry & 1) == 0 || (entry & 2) == 0) {
                return -1;
            }
            boolean large = (level == 3 || level == 2) && (entry & 0x80) != 0;
            if (large || level == 1) {
                long pageMask = (1L << (12 + 9 * (level - 1))) - 1;
                return (entry & ADDRESS & ~pageMask) | (linear & pageMask);
            }
            table = entry & ADDRESS;
        }
        return -1;
    }
}
