package dev.hako.core.memory;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.BitSet;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The dirty log: every DMA store through {@link GuestMemory} (each accessor, a bulk write, a fill, a device's
 * direct copy reported with {@code written}) shows in the next harvest, exactly those pages; nothing is marked
 * with logging off; and a harvest does not return before every caching writer caught up with its epoch.
 */
class DirtyPagesTest {
    private static final long RAM = 4L << 20;

    @Test
    void everyDmaStoreShowsInTheNextHarvestAndNothingElse() throws Exception {
        GuestMemory memory = new GuestMemory(Arena.ofAuto().allocate(RAM, 4096));
        DirtyPages log = memory.dirtyPages();
        long[] taken = new long[log.words()];
        log.start();
        assertThat(log.harvest(taken)).as("a new log has every page dirty").isEqualTo(RAM >>> 12);
        Random random = new Random(12);
        for (int round = 0; round < 50; round++) {
            BitSet expected = new BitSet();
            for (int n = 0; n < 1 + random.nextInt(40); n++) {
                int kind = random.nextInt(10);
                int size = switch (kind) {
                    case 0, 4 -> 1;
                    case 1, 5 -> 2;
                    case 2, 6 -> 4;
                    case 3, 7 -> 8;
                    default -> 1 + random.nextInt(3 * 4096);
                };
                long gpa = kind >= 4 && kind <= 7 ? random.nextLong(RAM / size) * size
                        : random.nextLong(RAM - size + 1);
                switch (kind) {
                    case 0 -> memory.setU8(gpa, 1);
                    case 1 -> memory.setU16(gpa, 1);
                    case 2 -> memory.setU32(gpa, 1);
                    case 3 -> memory.setU64(gpa, 1);
                    case 4 -> memory.setU8(gpa, 2);
                    case 5 -> memory.setU16Release(gpa, 2);
                    case 6 -> memory.setU32Release(gpa, 2);
                    case 7 -> memory.setU64Release(gpa, 2);
                    case 8 -> memory.write(gpa, new byte[size], 0, size);
                    default -> {
                        if (random.nextBoolean()) {
                            memory.fill(gpa, size, (byte) 3);
                        } else {
                            memory.written(gpa, size);
                        }
                    }
                }
                expected.set((int) (gpa >>> 12), (int) ((gpa + size - 1) >>> 12) + 1);
            }
            long count = log.harvest(taken);
            assertThat(BitSet.valueOf(taken)).as("round %d", round).isEqualTo(expected);
            assertThat(count).isEqualTo(expected.cardinality());
        }
        log.stop();
        memory.setU64(0, 5);
        memory.written(8192, 4096);
        assertThat(log.harvest(taken)).as("marks with logging off").isZero();
    }

    @Test
    void aHarvestWaitsForEveryCachingWriterToCatchUp() throws Exception {
        DirtyPages log = new DirtyPages(RAM);
        AtomicInteger kicks = new AtomicInteger();
        long[] caughtUp = {0};
        log.register(new DirtyPages.CachingWriter() {
            @Override
            public boolean caughtUp(long epoch) {
                return caughtUp[0] >= epoch;
            }

            @Override
            public void kick() {
                if (kicks.incrementAndGet() % 3 == 0) {
                    caughtUp[0] = log.epoch();  // as a vCPU does at its next entry to guest code
                }
            }
        });
        log.start();
        assertThat(caughtUp[0]).isEqualTo(log.epoch());
        long before = log.epoch();
        log.harvest(new long[log.words()]);
        assertThat(log.epoch()).isEqualTo(before + 1);
        assertThat(caughtUp[0]).as("the writer caught up with the new epoch").isEqualTo(log.epoch());
        assertThat(kicks.get()).isEqualTo(6);
    }
}
