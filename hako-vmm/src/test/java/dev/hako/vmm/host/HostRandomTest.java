package dev.hako.vmm.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.management.ThreadMXBean;
import dev.hako.sys.HostRandom;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.zip.Deflater;
import org.junit.jupiter.api.Test;

/** getrandom(2) into native memory, as virtio-rng uses it: random, in bounds, allocation-free. */
class HostRandomTest {
    @Test
    void fillsExactlyTheRangeWithBytesThatDoNotCompress() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(1 << 20);
            HostRandom.fill(ram, 4096, 65536);
            assertThat(ram.get(ValueLayout.JAVA_LONG, 4088)).isZero();
            assertThat(ram.get(ValueLayout.JAVA_LONG, 4096 + 65536)).isZero();
            Deflater deflater = new Deflater(Deflater.BEST_COMPRESSION);
            deflater.setInput(ram.asSlice(4096, 65536).toArray(ValueLayout.JAVA_BYTE));
            deflater.finish();
            byte[] out = new byte[70000];
            int n = deflater.deflate(out);
            assertThat(n).isGreaterThan(65000);
            assertThatThrownBy(() -> HostRandom.fill(ram, (1 << 20) - 8, 16))
                    .isInstanceOf(IndexOutOfBoundsException.class);
        }
    }

    @Test
    void allocatesNothingOnceWarm() {
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(1 << 16);
            for (int i = 0; i < 100_000; i++) {  // until the JIT compiled the downcall path
                HostRandom.fill(ram, 0, 512);
            }
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 10_000; i++) {
                HostRandom.fill(ram, i % 1024, 512);
            }
            assertThat(threads.getCurrentThreadAllocatedBytes() - before).isLessThan(16 * 1024);
        }
    }
}
