package dev.hako.vmm.image.disk;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * bench/disk-speed.sh's hako side: a fresh qcow2 image (64 KiB clusters) written sequentially in equal requests
 * (every cluster newly allocated) and flushed, then read back sequentially; prints MiB/s for each, in the form
 * the script compares with qemu-img bench.
 */
public final class DiskSpeed {
    private DiskSpeed() {}

    /** Arguments: image path, total MiB, request size in KiB. */
    public static void main(String[] args) throws Exception {
        Path image = Path.of(args[0]);
        long total = Long.parseLong(args[1]) << 20;
        int request = Integer.parseInt(args[2]) << 10;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(request, 4096);
            byte[] data = new byte[request];
            new Random(1).nextBytes(data);
            MemorySegment.copy(data, 0, memory, ValueLayout.JAVA_BYTE, 0, request);
            Files.deleteIfExists(image);
            long start = System.nanoTime();
            try (Qcow2Image disk = Qcow2Image.create(image, total, 16)) {
                for (long offset = 0; offset < total; offset += request) {
                    disk.write(offset, memory, 0, request);
                }
                disk.flush();
            }
            report("write", total, System.nanoTime() - start);
            start = System.nanoTime();
            try (DiskImage disk = DiskImages.open(image, DiskFormat.QCOW2, true)) {
                for (long offset = 0; offset < total; offset += request) {
                    disk.read(offset, memory, 0, request);
                }
            }
            report("read", total, System.nanoTime() - start);
        }
    }

    private static void report(String what, long bytes, long nanos) {
        System.out.printf("hako qcow2 sequential %-5s %8.1f MiB/s%n", what, bytes / 1048576.0 / (nanos / 1e9));
    }
}
