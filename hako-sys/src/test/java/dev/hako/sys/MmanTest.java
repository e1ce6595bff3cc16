package dev.hako.sys;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MmanTest {
    private static final long WINDOW_START = 1L << 30, WINDOW_END = 1L << 31;
    private static final long SYS_MMAP = 9;

    /**
     * The JVM's class space can cover the whole window MAP_32BIT searches (1 to 2 GiB); a CI run lost every
     * host-oracle test to that. Low memory must still come from the free space below 1 GiB.
     */
    @Test
    void reservesLowMemoryWhenTheMap32bitWindowIsFull() {
        List<MemorySegment> blockers = fillWindow();
        try {
            long probe = Libc.syscall(SYS_MMAP, 0, 8192, Mman.PROT_READ,
                    Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_32BIT, -1, 0);
            assertThat(probe).as("MAP_32BIT with its window full").isEqualTo(-12);

            MemorySegment low = Mman.reserveLow(8192, Mman.PROT_READ | Mman.PROT_WRITE);
            try {
                assertThat(low.address()).isPositive();
                assertThat(low.address() + low.byteSize()).isLessThanOrEqualTo(WINDOW_END);
                low.set(ValueLayout.JAVA_LONG, 8184, 0x1122334455667788L);
                assertThat(low.get(ValueLayout.JAVA_LONG, 8184)).isEqualTo(0x1122334455667788L);
                assertThat(low.get(ValueLayout.JAVA_LONG, 0)).isZero();
            } finally {
                Mman.release(low);
            }
        } finally {
            blockers.forEach(Mman::release);
        }
    }

    @Test
    void reservesLowMemoryInTheUsualCase() {
        MemorySegment low = Mman.reserveLow(4096, Mman.PROT_READ | Mman.PROT_WRITE);
        try {
            assertThat(low.address() + low.byteSize()).isLessThanOrEqualTo(WINDOW_END);
        } finally {
            Mman.release(low);
        }
    }

    /** Reserves every hole between 1 and 2 GiB, inaccessible and uncommitted. */
    private static List<MemorySegment> fillWindow() {
        List<MemorySegment> blockers = new ArrayList<>();
        for (long[] hole : Mman.unmappedRanges(WINDOW_START, WINDOW_END)) {
            long address = Libc.syscall(SYS_MMAP, hole[0], hole[1] - hole[0], Mman.PROT_NONE,
                    Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_NORESERVE | Mman.MAP_FIXED_NOREPLACE, -1, 0);
            assertThat(address).as("reserving the hole at %x", hole[0]).isEqualTo(hole[0]);
            blockers.add(MemorySegment.ofAddress(address).reinterpret(hole[1] - hole[0]));
        }
        return blockers;
    }
}
