package dev.hako.vmm.image.disk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Images written by QEMU's own tools read back through hako exactly as {@code qemu-img convert -O raw} reads
 * them: versions 2 and 3 with data, zero clusters (with and without their host cluster) and discards made by
 * qemu-io, backing chains, compressed images from {@code qemu-img convert -c}, internal snapshots and metadata
 * preallocation; and hako's writes into such images leave them clean for {@code qemu-img check}.
 */
class QemuMadeImagesTest {
    private static final long SIZE = 8 << 20;

    @TempDir
    Path dir;

    private Path path(String name) {
        return dir.resolve(name);
    }

    /** hako's reading of the whole disk equals qemu-img's. */
    private byte[] assertSameAsQemu(Path image) throws Exception {
        byte[] expected = QemuTools.contents(image, dir);
        try (DiskImage disk = DiskImages.open(image, null, true)) {
            assertThat(disk.size()).isEqualTo(expected.length);
            assertThat(readAll(disk)).as("hako's reading of %s", image.getFileName()).isEqualTo(expected);
        }
        return expected;
    }

    static byte[] readAll(DiskImage disk) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(disk.size());
            // Uneven request sizes cross cluster and run boundaries in every way.
            int[] sizes = {4096, 512, 65536, 1000, 131072 + 512, 7, 300_000};
            long offset = 0;
            for (int i = 0; offset < disk.size(); i++) {
                int n = (int) Math.min(sizes[i % sizes.length], disk.size() - offset);
                disk.read(offset, memory, offset, n);
                offset += n;
            }
            return memory.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"compat=0.10", "compat=1.1", "compat=1.1,cluster_size=4096", "cluster_size=2M"})
    void dataZeroesAndDiscardsWrittenByQemuIo(String options) throws Exception {
        Path image = path("qemu.qcow2");
        QemuTools.img("create", "-q", "-f", "qcow2", "-o", options, image.toString(), Long.toString(SIZE));
        QemuTools.io(image, "qcow2",
                "write -P 0x11 0 64k", "write -P 0x22 100k 300k", "write -P 0x33 1M 1M", "write -P 0x44 7M 1M",
                "write -z 1200k 200k", "write -z -u 1600k 64k", "discard 7M 512k", "write -P 0x55 3000k 4k",
                "write -z 7680k 64k", "write -P 0x66 7690k 1k");
        byte[] before = assertSameAsQemu(image);
        assertThat(before).contains((byte) 0x55);
    }

    @ParameterizedTest
    @ValueSource(strings = {"compat=0.10", "compat=1.1"})
    void writesIntoQemuImagesKeepThemClean(String options) throws Exception {
        Path image = path("qemu.qcow2");
        QemuTools.img("create", "-q", "-f", "qcow2", "-o", options + ",cluster_size=4096", image.toString(),
                Long.toString(SIZE));
        QemuTools.io(image, "qcow2", "write -P 0x11 0 1M", "write -z 2M 1M", "write -P 0x22 4M 64k");
        byte[] model = QemuTools.contents(image, dir);
        randomWrites(image, model, 200, 1);
        QemuTools.check(image, false);
        assertThat(assertSameAsQemu(image)).isEqualTo(model);
    }

    @Test
    void backingChainsOfRawAndQcow2() throws Exception {
        Path base = path("base.raw");
        byte[] data = new byte[(int) SIZE / 2];
        new Random(5).nextBytes(data);
        Files.write(base, data);
        Path middle = path("middle.qcow2");
        QemuTools.img("create", "-q", "-f", "qcow2", "-o", "compat=0.10", "-b", "base.raw", "-F", "raw",
                middle.toString(), Long.toString(SIZE * 3 / 4));
        QemuTools.io(middle, "qcow2", "write -P 0x77 64k 64k", "write -P 0x78 3M 2M");
        Path top = path("top.qcow2");
        QemuTools.img("create", "-q", "-f", "qcow2", "-b", middle.toString(), "-F", "qcow2", top.toString(),
                Long.toString(SIZE));
        QemuTools.io(top, "qcow2", "write -P 0x99 100k 10k", "write -z 3500k 64k", "write -P 0x9a 7M 64k");
        byte[] model = assertSameAsQemu(top);

        randomWrites(top, model, 200, 2);
        QemuTools.check(top, false);
        QemuTools.check(middle, false);
        assertThat(assertSameAsQemu(top)).isEqualTo(model);
        assertThat(Files.readAllBytes(base)).as("the backing file is never written").isEqualTo(data);
    }

    @ParameterizedTest
    @ValueSource(strings = {"cluster_size=512", "cluster_size=4096", "compat=0.10", "cluster_size=2M"})
    void compressedImagesFromQemuImgConvert(String options) throws Exception {
        byte[] data = compressibleData(SIZE, 3);
        Path raw = path("data.raw");
        Files.write(raw, data);
        Path image = path("compressed.qcow2");
        QemuTools.img("convert", "-q", "-c", "-O", "qcow2", "-o", options, raw.toString(), image.toString());
        Matcher compressedShare = Pattern.compile("([0-9.]+)% compressed clusters")
                .matcher(QemuTools.img("check", image.toString()));
        assertThat(compressedShare.find()).isTrue();
        assertThat(Double.parseDouble(compressedShare.group(1))).as("share of compressed clusters").isGreaterThan(50);
        try (DiskImage disk = DiskImages.open(image, null, true)) {
            assertThat(readAll(disk)).isEqualTo(data);
        }
        // Writing over parts of compressed clusters copies them into plain clusters and releases their sectors.
        randomWrites(image, data, 150, 3);
        QemuTools.check(image, false);
        assertThat(assertSameAsQemu(image)).isEqualTo(data);
    }

    @Test
    void internalSnapshotsSurviveCopyOnWrite() throws Exception {
        Path image = path("snap.qcow2");
        QemuTools.img("create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", image.toString(),
                Long.toString(SIZE));
        QemuTools.io(image, "qcow2", "write -P 0x10 0 2M", "write -P 0x20 5M 64k");
        byte[] original = QemuTools.contents(image, dir);
        QemuTools.img("snapshot", "-c", "before", image.toString());

        byte[] model = original.clone();
        randomWrites(image, model, 200, 4);
        try (DiskImage disk = DiskImages.open(image, null, false)) {
            disk.discard(0, 256 << 10);
            disk.writeZeroes(1 << 20, 128 << 10, false);
        }
        Arrays.fill(model, 0, 256 << 10, (byte) 0);
        Arrays.fill(model, 1 << 20, (1 << 20) + (128 << 10), (byte) 0);
        QemuTools.check(image, false);
        assertThat(assertSameAsQemu(image)).isEqualTo(model);

        QemuTools.img("snapshot", "-a", "before", image.toString());
        assertThat(QemuTools.contents(image, dir)).as("the snapshot's data was copied, not overwritten")
                .isEqualTo(original);
        QemuTools.check(image, false);
    }

    @Test
    void preallocatedZeroClustersAreWrittenInPlace() throws Exception {
        Path image = path("prealloc.qcow2");
        QemuTools.img("create", "-q", "-f", "qcow2", "-o", "cluster_size=4096,preallocation=metadata",
                image.toString(), Long.toString(SIZE));
        QemuTools.io(image, "qcow2", "write -P 0x42 0 1M", "write -z 0 512k");
        long length = Files.size(image);
        byte[] model = assertSameAsQemu(image);
        try (DiskImage disk = DiskImages.open(image, null, false); Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(1000);
            data.fill((byte) 0x5a);
            disk.write(10_000, data, 0, 1000);
            Arrays.fill(model, 10_000, 11_000, (byte) 0x5a);
        }
        QemuTools.check(image, false);
        assertThat(assertSameAsQemu(image)).isEqualTo(model);
        assertThat(Files.size(image)).as("no new cluster was allocated").isEqualTo(length);
    }

    @Test
    void aDirtyLazyRefcountImageOpensOnlyReadOnly() throws Exception {
        Path image = path("lazy.qcow2");
        QemuTools.img("create", "-q", "-f", "qcow2", "-o", "lazy_refcounts=on", image.toString(),
                Long.toString(SIZE));
        QemuTools.io(image, "qcow2", "write -P 0x31 0 64k");
        try (FileChannel channel = FileChannel.open(image, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.allocate(8).putLong(0, 1L << Qcow2Format.INCOMPAT_DIRTY), 72);
        }
        assertThatThrownBy(() -> DiskImages.open(image, null, false)).isInstanceOf(IOException.class)
                .hasMessageContaining("lazy.qcow2").hasMessageContaining("dirty")
                .hasMessageContaining("qemu-img check -r all");
        try (DiskImage disk = DiskImages.open(image, null, true)) {
            assertThat(readAll(disk)[100]).isEqualTo((byte) 0x31);
        }
    }

    /** Random writes through hako, applied to {@code model} as well. */
    private static void randomWrites(Path image, byte[] model, int count, long seed) throws IOException {
        Random random = new Random(seed);
        try (DiskImage disk = DiskImages.open(image, DiskFormat.QCOW2, false); Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(256 << 10);
            for (int i = 0; i < count; i++) {
                int length = 1 + random.nextInt((int) memory.byteSize());
                long offset = random.nextLong(disk.size() - length + 1);
                byte[] data = new byte[length];
                random.nextBytes(data);
                MemorySegment.copy(data, 0, memory, ValueLayout.JAVA_BYTE, 0, length);
                disk.write(offset, memory, 0, length);
                System.arraycopy(data, 0, model, (int) offset, length);
                if (i % 50 == 49) {
                    disk.flush();
                }
            }
        }
    }

    /** Text-like data that deflate shrinks, with zero stretches and some incompressible noise. */
    static byte[] compressibleData(long size, long seed) {
        Random random = new Random(seed);
        byte[] data = new byte[(int) size];
        byte[] words = "the quick brown fox jumps over the lazy dog; hako boots debian kernels "
                .getBytes(StandardCharsets.US_ASCII);
        for (int at = 0; at < data.length; at += 4096) {
            int kind = random.nextInt(5);
            for (int i = at; i < Math.min(data.length, at + 4096); i++) {
                data[i] = switch (kind) {
                    case 0 -> 0;
                    case 1 -> (byte) random.nextInt();
                    default -> words[(i * 7 + random.nextInt(3)) % words.length];
                };
            }
        }
        return data;
    }
}
