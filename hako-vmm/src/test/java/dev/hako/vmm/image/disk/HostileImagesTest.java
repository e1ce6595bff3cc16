package dev.hako.vmm.image.disk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Images made to hurt: corrupt headers, tables pointing past the end of the file or onto the header, refcounts
 * that lie, huge sizes, loops in the backing chain, and random byte flips all over the metadata. Each must end
 * in one IOException naming the file and the problem (or in correct behaviour), never another exception, a hang
 * or a huge allocation.
 */
class HostileImagesTest {
    private static final int CLUSTER = 4096;

    @TempDir
    Path dir;

    /** A 4 MiB image with 4 KiB clusters and a little data: L2 table at cluster 4, data from cluster 5 on. */
    private Path image() throws Exception {
        Path image = dir.resolve("hostile.qcow2");
        QemuTools.img("create", "-q", "-f", "qcow2", "-o", "cluster_size=" + CLUSTER, image.toString(), "4M");
        QemuTools.io(image, "qcow2", "write -P 0x61 0 8k", "write -P 0x62 1M 4k");
        return image;
    }

    private static void poke(Path file, long offset, ByteBuffer bytes) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.write(bytes.flip(), offset);
        }
    }

    private static void pokeLong(Path file, long offset, long value) throws IOException {
        poke(file, offset, ByteBuffer.allocate(8).putLong(value));
    }

    private static void pokeInt(Path file, long offset, int value) throws IOException {
        poke(file, offset, ByteBuffer.allocate(4).putInt(value));
    }

    private static long readLong(Path file, long offset) throws IOException {
        try (FileChannel channel = FileChannel.open(file)) {
            ByteBuffer b = ByteBuffer.allocate(8);
            channel.read(b, offset);
            return b.getLong(0);
        }
    }

    private void assertOpenFails(Path image, String... problem) {
        var thrown = assertThatThrownBy(() -> DiskImages.open(image, null, false).close())
                .isInstanceOf(IOException.class).hasMessageContaining(image.toString());
        for (String p : problem) {
            thrown.hasMessageContaining(p);
        }
    }

    /** Reading the first MiB of the disk fails with an IOException naming the problem. */
    private void assertReadFails(Path image, String problem) {
        assertThatThrownBy(() -> {
            try (DiskImage disk = DiskImages.open(image, null, true); Arena arena = Arena.ofConfined()) {
                MemorySegment memory = arena.allocate(1 << 20);
                disk.read(0, memory, 0, 1 << 20);
            }
        }).isInstanceOf(IOException.class).hasMessageContaining(image.toString()).hasMessageContaining(problem);
    }

    @Test
    void corruptHeaders() throws Exception {
        Path image = image();
        byte[] good = Files.readAllBytes(image);
        record Case(long offset, long value, int width, String problem) {}
        Case[] cases = {
            new Case(4, 4, 4, "qcow2 version 4"),
            new Case(20, 8, 4, "cluster_bits 8"),
            new Case(20, 0xffffffffL, 4, "cluster_bits 4294967295"),
            new Case(100, 105, 4, "header_length 105"),
            new Case(100, 1 << 20, 4, "header_length"),
            new Case(32, 1, 4, "encryption (AES)"),
            new Case(32, 2, 4, "encryption (LUKS)"),
            new Case(72, 1L << 2, 8, "external data file"),
            new Case(72, 1L << 4, 8, "extended L2 entries"),
            new Case(72, 1L << 40, 8, "incompatible feature bit 40"),
            new Case(24, 1L << 62, 8, "32 MiB"),
            new Case(24, -1L, 8, "virtual size"),
            new Case(24, 1L << 40, 8, "too small for the virtual size"),
            new Case(36, 0x7fffffffL, 4, "32 MiB limit"),
            new Case(40, 1L << 40, 8, "past the end of the file"),
            new Case(40, 3 * CLUSTER + 8, 8, "not cluster-aligned"),
            new Case(40, 0, 8, "overlaps the image header"),
            new Case(40, CLUSTER, 8, "overlap"),
            new Case(48, 1L << 50, 8, "past the end of the file"),
            new Case(56, 0, 4, "refcount table of 0 clusters"),
            new Case(56, 1 << 20, 4, "8 MiB limit"),
            new Case(96, 7, 4, "refcount_order 7"),
            new Case(8, CLUSTER - 10, 8, "backing file name"),
            new Case(16, 5000, 4, "backing file name"),
            new Case(112, 0x12345678, 4, "overruns"),
        };
        for (Case c : cases) {
            Files.write(image, good);
            if (c.offset == 8) {
                pokeInt(image, 16, 100);
            }
            if (c.offset == 16) {
                pokeLong(image, 8, 200);
            }
            if (c.offset == 112) {
                pokeInt(image, 116, 1 << 30);
            }
            if (c.width == 8) {
                pokeLong(image, c.offset, c.value);
            } else {
                pokeInt(image, c.offset, (int) c.value);
            }
            assertOpenFails(image, c.problem);
        }
        Files.write(image, good);
        pokeLong(image, 72, 1L << Qcow2Format.INCOMPAT_COMPRESSION);
        poke(image, 104, ByteBuffer.allocate(1).put((byte) 1));
        assertOpenFails(image, "compression type zstd");
        Files.write(image, new byte[] {'Q', 'F', 'I', (byte) 0xfb, 0, 0, 0, 3});
        assertOpenFails(image, "truncated");
        Files.write(image, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> DiskImages.open(image, DiskFormat.QCOW2, true))
                .isInstanceOf(IOException.class).hasMessageContaining("not a qcow2 image");
    }

    @Test
    void tablesPointingOutsideTheFileOrOntoMetadata() throws Exception {
        Path image = image();
        byte[] good = Files.readAllBytes(image);
        long l1 = readLong(image, 40);
        long l2 = readLong(image, l1) & Qcow2Format.OFFSET_MASK;
        long copied = Qcow2Format.OFLAG_COPIED;

        pokeLong(image, l1, copied | (1L << 40));
        assertReadFails(image, "lies past the end of the file");
        Files.write(image, good);
        pokeLong(image, l1, copied | (l2 + 512));
        assertReadFails(image, "not cluster-aligned");
        Files.write(image, good);
        pokeLong(image, l1, copied | CLUSTER);
        assertReadFails(image, "on the header, L1 table or refcount table");

        Files.write(image, good);
        pokeLong(image, l2, copied | (1L << 40));
        assertReadFails(image, "points past the end of the file");
        Files.write(image, good);
        pokeLong(image, l2, copied);
        assertReadFails(image, "points into the image header");
        Files.write(image, good);
        pokeLong(image, l2, copied | l1);
        assertReadFails(image, "points into the header, L1 table or refcount table");
        Files.write(image, good);
        pokeLong(image, l2, copied | 0x600);
        assertReadFails(image, "unaligned");
        Files.write(image, good);
        pokeLong(image, l2, Qcow2Format.OFLAG_COMPRESSED | (5L * CLUSTER + 100));
        assertReadFails(image, "compressed cluster at " + (5 * CLUSTER + 100));
    }

    @Test
    void refcountsThatLie() throws Exception {
        Path image = image();
        byte[] good = Files.readAllBytes(image);
        long block = readLong(image, readLong(image, 48));
        long l2 = readLong(image, readLong(image, 40)) & Qcow2Format.OFFSET_MASK;
        long data = readLong(image, l2) & Qcow2Format.OFFSET_MASK;

        // A data cluster in use whose refcount says free: releasing it finds the refcount already 0.
        poke(image, block + data / CLUSTER * 2, ByteBuffer.allocate(2).putShort((short) 0));
        assertThatThrownBy(() -> {
            try (DiskImage disk = DiskImages.open(image, null, false)) {
                disk.discard(0, CLUSTER);
                disk.flush();
            }
        }).isInstanceOf(IOException.class).hasMessageContaining("refcount is already 0");

        // The header's refcount says free: it must never be handed out as a new cluster.
        Files.write(image, good);
        poke(image, block, ByteBuffer.allocate(2).putShort((short) 0));
        assertThatThrownBy(() -> {
            try (DiskImage disk = DiskImages.open(image, null, false); Arena arena = Arena.ofConfined()) {
                disk.write(2 << 20, arena.allocate(CLUSTER), 0, CLUSTER);
            }
        }).isInstanceOf(IOException.class).hasMessageContaining("refcount of a cluster of the header");

        // A refcount block past the end of the file.
        Files.write(image, good);
        pokeLong(image, readLong(image, 48), 1L << 40);
        assertThatThrownBy(() -> {
            try (DiskImage disk = DiskImages.open(image, null, false); Arena arena = Arena.ofConfined()) {
                disk.write(2 << 20, arena.allocate(CLUSTER), 0, CLUSTER);
            }
        }).isInstanceOf(IOException.class).hasMessageContaining("refcount block at");

        // Every refcount at its maximum: nothing there is free, so new clusters go past them.
        Files.write(image, good);
        byte[] full = new byte[CLUSTER];
        Arrays.fill(full, (byte) 0xff);
        poke(image, block, ByteBuffer.wrap(full).position(CLUSTER));
        try (DiskImage disk = DiskImages.open(image, null, false); Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(CLUSTER);
            memory.fill((byte) 0x77);
            disk.write(3 << 20, memory, 0, CLUSTER);
            memory.fill((byte) 0);
            disk.read(3 << 20, memory, 0, CLUSTER);
            assertThat(memory.get(ValueLayout.JAVA_BYTE, 100)).isEqualTo((byte) 0x77);
        }
        assertThat(Files.size(image)).as("past the 2048 clusters the first block counts")
                .isGreaterThan(2048L * CLUSTER);
    }

    @Test
    void backingChainsThatLoopOrPointNowhere() throws Exception {
        Path a = dir.resolve("a.qcow2");
        Path b = dir.resolve("b.qcow2");
        QemuTools.img("create", "-q", "-f", "qcow2", a.toString(), "1M");
        QemuTools.img("create", "-q", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", b.toString());
        QemuTools.img("rebase", "-u", "-f", "qcow2", "-b", "b.qcow2", "-F", "qcow2", a.toString());
        assertThatThrownBy(() -> DiskImages.open(b, null, true)).isInstanceOf(IOException.class)
                .hasMessageContaining("loops back to");
        QemuTools.img("rebase", "-u", "-f", "qcow2", "-b", "missing.raw", "-F", "raw", a.toString());
        assertThatThrownBy(() -> DiskImages.open(a, null, true)).isInstanceOf(IOException.class)
                .hasMessageContaining("a.qcow2").hasMessageContaining("missing.raw")
                .hasMessageContaining("does not exist");
        Files.write(dir.resolve("c.vmdk"), new byte[512]);
        QemuTools.img("rebase", "-u", "-f", "qcow2", "-b", "c.vmdk", "-F", "vmdk", a.toString());
        assertThatThrownBy(() -> DiskImages.open(a, null, true)).isInstanceOf(IOException.class)
                .hasMessageContaining("\"vmdk\"");
    }

    /**
     * Random bytes flipped in the metadata (header, refcount table and block, L1 and L2 tables) of an image
     * with data, then the image read and written: an IOException is fine, anything else is a bug.
     */
    @Test
    void randomCorruptionNeverEscapesAsAnythingButIOException() throws Exception {
        Path image = image();
        byte[] good = Files.readAllBytes(image);
        long l2 = readLong(image, readLong(image, 40)) & Qcow2Format.OFFSET_MASK;
        Random random = new Random(42);
        int failures = 0;
        for (int round = 0; round < 1000; round++) {
            byte[] bad = good.clone();
            for (int flips = 1 + random.nextInt(4); flips > 0; flips--) {
                int at = random.nextBoolean() ? random.nextInt(4 * CLUSTER)
                        : (int) l2 + random.nextInt(CLUSTER);
                bad[at] = random.nextInt(4) == 0 ? (byte) random.nextInt()
                        : (byte) (bad[at] ^ (1 << random.nextInt(8)));
            }
            Files.write(image, bad);
            failures += assertTimeoutPreemptively(Duration.ofSeconds(20), () -> exercise(image, random));
        }
        assertThat(failures).as("some corruptions are caught").isPositive();
    }

    /** Opens, reads, writes, discards and flushes; returns 1 when an IOException said no. */
    private static int exercise(Path image, Random random) {
        try (DiskImage disk = DiskImages.open(image, null, false); Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(64 << 10);
            long span = Math.min(disk.size(), 4 << 20);
            for (int i = 0; i < 8; i++) {
                int length = 512 * (1 + random.nextInt(128));
                long offset = span <= length ? 0 : random.nextLong(span - length) & ~511L;
                length = (int) Math.min(length, disk.size() - offset);
                switch (i % 4) {
                    case 0 -> disk.read(offset, memory, 0, length);
                    case 1 -> disk.write(offset, memory, 0, length);
                    case 2 -> disk.discard(offset, length);
                    default -> disk.flush();
                }
            }
            return 0;
        } catch (IOException expected) {
            assertThat(expected.getMessage()).contains("hostile.qcow2");
            return 1;
        }
    }
}
