package dev.hako.vmm.image.disk;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.management.ThreadMXBean;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The promise that a disk request allocates nothing once the image's caches are warm, measured with the thread's
 * allocation counter: reads of every kind of cluster (plain, zero, unallocated over a backing file, compressed),
 * writes in place and writes that allocate new clusters and L2 tables, partial writes that copy up from the
 * backing file, write-zeroes, discards and flushes.
 */
class DiskIoAllocationTest {
    private static final int ROUNDS = 10_000;
    /**
     * Measured windows; the quietest counts. A request that allocates shows in every window, while a one-off
     * recompilation (whose interpreted frames allocate what compiled code does not) shows in one at most.
     */
    private static final int WINDOWS = 3;

    @TempDir
    Path dir;

    private final ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();

    @Test
    void qcow2RequestsDoNotAllocate() throws Exception {
        byte[] base = QemuMadeImagesTest.compressibleData(8 << 20, 11);
        Files.write(dir.resolve("base.raw"), base);
        QemuTools.img("convert", "-q", "-c", "-O", "qcow2", "-o", "cluster_size=4096",
                dir.resolve("base.raw").toString(), dir.resolve("base.qcow2").toString());
        Path image = dir.resolve("overlay.qcow2");
        try (Qcow2Image disk = Qcow2Image.create(image, 1L << 30, 16, "base.qcow2", DiskFormat.QCOW2);
                Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(1 << 20, 4096);
            Random random = new Random(1);
            long[] cursor = {16 << 20};
            traffic(disk, memory, random, cursor, ROUNDS); // warm up: caches, class loading, JIT
            long allocated = Long.MAX_VALUE;
            for (int window = 0; window < WINDOWS; window++) {
                long before = threads.getCurrentThreadAllocatedBytes();
                traffic(disk, memory, random, cursor, ROUNDS);
                allocated = Math.min(allocated, threads.getCurrentThreadAllocatedBytes() - before);
            }
            assertThat(cursor[0]).as("the measured rounds allocated new clusters").isGreaterThan(128 << 20);
            assertThat(allocated).as("bytes allocated by %d rounds of requests", ROUNDS).isLessThan(16_000);
        }
    }

    @Test
    void rawRequestsDoNotAllocate() throws Exception {
        Path image = dir.resolve("disk.raw");
        Files.write(image, new byte[4 << 20]);
        try (DiskImage disk = DiskImages.open(image, DiskFormat.RAW, false); Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(1 << 16, 4096);
            Random random = new Random(2);
            rawTraffic(disk, memory, random, ROUNDS);
            long allocated = Long.MAX_VALUE;
            for (int window = 0; window < WINDOWS; window++) {
                long before = threads.getCurrentThreadAllocatedBytes();
                rawTraffic(disk, memory, random, ROUNDS);
                allocated = Math.min(allocated, threads.getCurrentThreadAllocatedBytes() - before);
            }
            assertThat(allocated).as("bytes allocated by %d rounds of requests", ROUNDS).isLessThan(16_000);
        }
    }

    /**
     * One round: a read somewhere in the first 16 MiB (compressed backing clusters, copied-up and zeroed
     * clusters), an allocating write at the cursor, a partial write that copies up from the compressed backing
     * file, an in-place rewrite, and now and then write-zeroes, a discard and a flush.
     */
    private static void traffic(Qcow2Image disk, MemorySegment memory, Random random, long[] cursor, int rounds)
            throws Exception {
        for (int i = 0; i < rounds; i++) {
            long offset = random.nextInt(16 << 20) & ~511L;
            disk.read(offset, memory, 0, 4096 + 512 * random.nextInt(64));
            disk.write(cursor[0], memory, 8192, 4096);
            disk.write(random.nextInt(8 << 20) & ~511L, memory, 0, 512);
            disk.write(cursor[0] + 1024, memory, 0, 1024);
            cursor[0] += 4096;
            if (i % 64 == 0) {
                disk.writeZeroes(random.nextInt(16 << 20) & -65536L, 65536, random.nextBoolean());
                disk.discard(random.nextInt(16 << 20) & -65536L, 131072);
            }
            if (i % 256 == 0) {
                disk.flush();
            }
        }
    }

    private static void rawTraffic(DiskImage disk, MemorySegment memory, Random random, int rounds)
            throws Exception {
        for (int i = 0; i < rounds; i++) {
            long offset = random.nextInt(4 << 20) & ~511L;
            int length = (int) Math.min(512 * (1 + random.nextInt(64)), disk.size() - offset);
            disk.read(offset, memory, 0, length);
            disk.write(offset, memory, 0, length);
            if (i % 64 == 0) {
                disk.writeZeroes(offset, length, random.nextBoolean());
                disk.discard(offset, length);
                disk.flush();
            }
        }
    }
}
