package dev.hako.vmm.image.disk;

import java.io.FileOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/**
 * The child process of {@link Qcow2CrashTest}: opens a qcow2 image and runs a deterministic stream of writes,
 * write-zeroes, discards and flushes until it is killed or runs out of space, logging "B i" before operation i
 * starts and "F i" once flush i has returned, so the parent knows which operations are durable and which may
 * have half happened; out of space, it logs "E" with the error and "R" with the refusal of a last flush.
 */
public final class CrashWriter {
    enum Kind { WRITE, ZEROES, DISCARD, FLUSH }

    /** Operation {@code index} of stream {@code seed} on a disk of {@code size} bytes. */
    record Op(Kind kind, long offset, int length, long dataSeed) {
        static Op of(long seed, long index, long size) {
            Random random = new Random(seed * 1_000_003L + index);
            int choice = random.nextInt(100);
            Kind kind = choice < 70 ? Kind.WRITE : choice < 80 ? Kind.ZEROES : choice < 87 ? Kind.DISCARD
                    : Kind.FLUSH;
            int length = 512 * (1 + random.nextInt(random.nextBoolean() ? 8 : 128));
            long offset = (random.nextLong(size - length + 1)) & ~511L;
            return new Op(kind, offset, length, random.nextLong());
        }

        byte[] data() {
            byte[] data = new byte[length];
            new Random(dataSeed).nextBytes(data);
            return data;
        }

        /**
         * The operation's effect on the disk's contents; discard as Qcow2Image does it where discarded clusters
         * read as zeroes (version 3, or no backing file).
         */
        void apply(byte[] model, long clusterSize) {
            switch (kind) {
                case WRITE -> System.arraycopy(data(), 0, model, (int) offset, length);
                case ZEROES -> Arrays.fill(model, (int) offset, (int) offset + length, (byte) 0);
                case DISCARD -> {
                    long first = (offset + clusterSize - 1) & -clusterSize;
                    long end = (offset + length) & -clusterSize;
                    if (first < end) {
                        Arrays.fill(model, (int) first, (int) end, (byte) 0);
                    }
                }
                case FLUSH -> {
                }
            }
        }
    }

    private CrashWriter() {}

    /** Arguments: image, stream seed, log file. */
    public static void main(String[] args) throws IOException {
        Path image = Path.of(args[0]);
        long seed = Long.parseLong(args[1]);
        try (FileOutputStream log = new FileOutputStream(args[2]);
                DiskImage disk = DiskImages.open(image, DiskFormat.QCOW2, false);
                Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(1 << 20, 4096);
            log.write("READY\n".getBytes(StandardCharsets.US_ASCII));
            for (long i = 0; ; i++) {
                Op op = Op.of(seed, i, disk.size());
                log.write(("B " + i + "\n").getBytes(StandardCharsets.US_ASCII));
                try {
                    run(op, disk, memory);
                } catch (IOException e) {
                    // Out of space (the test's file size limit): writing must stop, leaving the image consistent.
                    log.write(("E " + e.getMessage() + "\n").getBytes(StandardCharsets.UTF_8));
                    try {
                        disk.flush();
                        log.write("FLUSHED AFTER FAILURE\n".getBytes(StandardCharsets.US_ASCII));
                    } catch (IOException refused) {
                        log.write(("R " + refused.getMessage() + "\n").getBytes(StandardCharsets.UTF_8));
                    }
                    return;
                }
                if (op.kind() == Kind.FLUSH) {
                    log.write(("F " + i + "\n").getBytes(StandardCharsets.US_ASCII));
                }
            }
        }
    }

    private static void run(Op op, DiskImage disk, MemorySegment memory) throws IOException {
        switch (op.kind()) {
            case WRITE -> {
                MemorySegment.copy(op.data(), 0, memory, ValueLayout.JAVA_BYTE, 0, op.length());
                disk.write(op.offset(), memory, 0, op.length());
            }
            case ZEROES -> disk.writeZeroes(op.offset(), op.length(), (op.dataSeed() & 1) == 0);
            case DISCARD -> disk.discard(op.offset(), op.length());
            case FLUSH -> disk.flush();
        }
    }
}
