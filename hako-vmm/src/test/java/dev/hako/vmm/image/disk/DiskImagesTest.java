package dev.hako.vmm.image.disk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Opening, creating and converting images, and the one-line errors a user gets for mistakes. */
class DiskImagesTest {
    @TempDir
    Path dir;

    @Test
    void userMistakesAreOneClearLine() throws Exception {
        Path missing = dir.resolve("missing.qcow2");
        assertThatThrownBy(() -> DiskImages.open(missing, null, true)).isInstanceOf(IOException.class)
                .hasMessage(missing + ": cannot open: no such file, ENOENT (2)");
        assertThatThrownBy(() -> DiskImages.open(dir, null, true)).isInstanceOf(IOException.class)
                .hasMessage(dir + ": is a directory, not a disk image");
        assertThatThrownBy(() -> DiskFormat.named("vmdk")).isInstanceOf(IOException.class)
                .hasMessageContaining("\"vmdk\"");
        assertThat(DiskFormat.named("QCOW2")).isEqualTo(DiskFormat.QCOW2);

        Path image = dir.resolve("small.qcow2");
        assertThatThrownBy(() -> Qcow2Image.create(image, 1 << 20, 8)).isInstanceOf(IOException.class)
                .hasMessageContaining("cluster size");
        assertThatThrownBy(() -> Qcow2Image.create(image, 0, 16)).isInstanceOf(IOException.class)
                .hasMessageContaining("virtual size must be positive");
        assertThatThrownBy(() -> Qcow2Image.create(image, 1L << 60, 9)).isInstanceOf(IOException.class)
                .hasMessageContaining("use larger clusters");
        assertThatThrownBy(() -> Qcow2Image.create(image, 0, 16, "nowhere.raw", null))
                .isInstanceOf(IOException.class).hasMessageContaining("nowhere.raw")
                .hasMessageContaining("no such file");

        Qcow2Image.create(image, 1 << 20, 16).close();
        try (DiskImage disk = DiskImages.open(image, null, true); Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(4096);
            assertThatThrownBy(() -> disk.write(0, memory, 0, 512)).isInstanceOf(IOException.class)
                    .hasMessage(image + ": opened read-only");
            assertThatThrownBy(() -> disk.read((1 << 20) - 512, memory, 0, 1024)).isInstanceOf(IOException.class)
                    .hasMessageContaining("past the end");
        }
    }

    @Test
    void formatsAreDetectedFromTheHeader() throws Exception {
        Path raw = dir.resolve("disk.img");
        byte[] bytes = new byte[1000];
        new Random(1).nextBytes(bytes);
        Files.write(raw, bytes);
        Path qcow2 = dir.resolve("disk.other");
        QemuTools.img("create", "-q", "-f", "qcow2", qcow2.toString(), "3M");
        try (DiskImage a = DiskImages.open(raw, null, true); DiskImage b = DiskImages.open(qcow2, null, true);
                DiskImage c = DiskImages.open(qcow2, DiskFormat.RAW, true)) {
            assertThat(a.format()).isEqualTo(DiskFormat.RAW);
            assertThat(a.size()).as("a raw image's size is its length rounded up to a sector").isEqualTo(1024);
            assertThat(QemuMadeImagesTest.readAll(a)).startsWith(bytes).endsWith(new byte[24]);
            assertThat(b.format()).isEqualTo(DiskFormat.QCOW2);
            assertThat(b.size()).isEqualTo(3 << 20);
            assertThat(c.format()).as("the format asked for wins").isEqualTo(DiskFormat.RAW);
            assertThat(c.size()).isEqualTo((Files.size(qcow2) + 511) & ~511L);
        }
    }

    @Test
    void createdImagesAreWhatQemuImgCreateMakes() throws Exception {
        Path base = dir.resolve("base.raw");
        Files.write(base, new byte[3 << 20]);
        Path image = dir.resolve("overlay.qcow2");
        try (Qcow2Image overlay = Qcow2Image.create(image, 0, 12, "base.raw", null)) {
            assertThat(overlay.size()).isEqualTo(3 << 20);
            assertThat(overlay.backing().format()).isEqualTo(DiskFormat.RAW);
        }
        String info = QemuTools.img("info", image.toString());
        assertThat(info).contains("virtual size: 3 MiB").contains("cluster_size: 4096")
                .contains("backing file: base.raw").contains("backing file format: raw").contains("compat: 1.1")
                .contains("refcount bits: 16");
        QemuTools.check(image, false);
        Path big = dir.resolve("big.qcow2");
        Qcow2Image.create(big, 1L << 40, 12).close();
        QemuTools.check(big, false);
        assertThat(QemuTools.img("info", big.toString())).contains("virtual size: 1 TiB");
    }

    /**
     * A sparse raw disk with data, written zeroes and holes converts to a qcow2 image that qemu-img compare
     * finds identical, whose only data clusters are the nonzero ones.
     */
    @Test
    void convertKeepsOnlyNonzeroClusters() throws Exception {
        Path raw = dir.resolve("disk.raw");
        long size = 64L << 20;
        Random random = new Random(7);
        int dataClusters = 0;
        try (RandomAccessFile file = new RandomAccessFile(raw.toFile(), "rw")) {
            file.setLength(size);
            byte[] cluster = new byte[65536];
            for (long at = 0; at < size; at += 65536) {
                int kind = random.nextInt(6);
                if (kind == 0) {
                    random.nextBytes(cluster);
                    file.seek(at);
                    file.write(cluster);
                    dataClusters++;
                } else if (kind == 1) {
                    file.seek(at);
                    file.write(new byte[65536]);
                } else if (kind == 2) {
                    file.seek(at + random.nextInt(65536));
                    file.write(1 + random.nextInt(255));
                    dataClusters++;
                }
            }
        }
        Path image = dir.resolve("disk.qcow2");
        DiskImages.convertToQcow2(raw, DiskFormat.RAW, image, 16);
        assertThat(QemuTools.img("compare", raw.toString(), image.toString())).contains("Images are identical");
        QemuTools.check(image, false);
        String check = QemuTools.img("check", image.toString());
        assertThat(check).contains(dataClusters + "/1024 = ");

        Path again = dir.resolve("again.qcow2");
        DiskImages.convertToQcow2(image, null, again, 12);
        assertThat(QemuTools.img("compare", raw.toString(), again.toString())).contains("Images are identical");
    }
}
