package dev.hako.soft.exec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** LongMap agrees with HashMap over a million random operations on keys that collide often, and does not box. */
class LongMapTest {
    @Test
    void agreesWithHashMapUnderRandomOperations() {
        SplittableRandom random = new SplittableRandom(42);
        LongMap<String> map = new LongMap<>();
        Map<Long, String> reference = new HashMap<>();
        for (int op = 0; op < 1_000_000; op++) {
            // Page-aligned addresses, as block addresses often are, from a small pool so keys repeat.
            long key = (random.nextInt(5000) << 12) + (random.nextInt(4) == 0 ? random.nextInt(64) : 0);
            switch (random.nextInt(7)) {
                case 0, 1, 2 -> assertThat(map.put(key, "v" + op)).isEqualTo(reference.put(key, "v" + op));
                case 3, 4 -> assertThat(map.remove(key)).isEqualTo(reference.remove(key));
                default -> assertThat(map.get(key)).isEqualTo(reference.get(key));
            }
            if (op % 200_000 == 199_999) {
                map.clear();
                reference.clear();
            }
            assertThat(map.size()).isEqualTo(reference.size());
        }
        for (Map.Entry<Long, String> e : reference.entrySet()) {
            assertThat(map.get(e.getKey())).isEqualTo(e.getValue());
        }
    }

    @Test
    void lookupsAllocateNothing() {
        LongMap<String> map = new LongMap<>();
        for (long k = 0; k < 10_000; k++) {
            map.put(k << 12, "x");
        }
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long found = 0;
        for (int warm = 0; warm < 3; warm++) {
            for (long k = 0; k < 20_000; k++) {
                found += map.get(k << 12) == null ? 0 : 1;
            }
        }
        long before = threads.getCurrentThreadAllocatedBytes();
        for (long k = 0; k < 20_000; k++) {
            found += map.get(k << 12) == null ? 0 : 1;
        }
        assertThat(threads.getCurrentThreadAllocatedBytes() - before).isLessThan(1024);
        assertThat(found).isEqualTo(40_000);
    }
}
