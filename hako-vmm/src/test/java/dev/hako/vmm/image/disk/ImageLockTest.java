package dev.hako.vmm.image.disk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Images are locked as QEMU locks them: one writer or many readers, across hako and QEMU's tools. */
class ImageLockTest {
    @TempDir
    Path dir;

    @Test
    void oneWriterExcludesEveryoneElse() throws Exception {
        Path image = dir.resolve("locked.qcow2");
        Qcow2Image.create(image, 1 << 20, 16).close();
        try (DiskImage writer = DiskImages.open(image, null, false)) {
            assertThatThrownBy(() -> DiskImages.open(image, null, false)).isInstanceOf(IOException.class)
                    .hasMessageContaining(image.toString()).hasMessageContaining("lock")
                    .hasMessageContaining("another VM or qemu-img");
            assertThatThrownBy(() -> DiskImages.open(image, null, true)).isInstanceOf(IOException.class)
                    .hasMessageContaining("shared \"write\" lock");
            QemuTools.Result info = QemuTools.run("qemu-img", "info", image.toString());
            assertThat(info.status()).isNotZero();
            assertThat(info.output()).contains("Failed to get shared \"write\" lock");
            assertThat(QemuTools.img("info", "-U", image.toString())).contains("file format: qcow2");
        }
        DiskImages.open(image, null, false).close();
    }

    @Test
    void readersShareAndKeepWritersOut() throws Exception {
        Path image = dir.resolve("shared.raw");
        Files.write(image, new byte[4096]);
        try (DiskImage first = DiskImages.open(image, null, true);
                DiskImage second = DiskImages.open(image, DiskFormat.RAW, true)) {
            assertThat(first.readOnly()).isTrue();
            assertThat(second.size()).isEqualTo(4096);
            assertThatThrownBy(() -> DiskImages.open(image, null, false)).isInstanceOf(IOException.class)
                    .hasMessageContaining("\"write\" lock");
            QemuTools.Result write = QemuTools.run("qemu-io", "-f", "raw", "-c", "write 0 512", image.toString());
            assertThat(write.status()).isNotZero();
            assertThat(write.output()).contains("Failed to get \"write\" lock");
        }
    }

    @Test
    void anImageQemuIsWritingCannotBeOpened() throws Exception {
        Path image = dir.resolve("qemu.qcow2");
        QemuTools.img("create", "-q", "-f", "qcow2", image.toString(), "1M");
        Process qemuIo = new ProcessBuilder("qemu-io", "-f", "qcow2", image.toString()).redirectErrorStream(true)
                .start();
        try {
            // qemu-io has the image open once it answers a command.
            OutputStream commands = qemuIo.getOutputStream();
            commands.write("write -P 0x5 0 4k\n".getBytes(StandardCharsets.US_ASCII));
            commands.flush();
            byte[] answer = new byte[64];
            assertThat(qemuIo.getInputStream().read(answer)).isPositive();
            assertThatThrownBy(() -> DiskImages.open(image, null, true)).isInstanceOf(IOException.class)
                    .hasMessageContaining("lock");
            commands.write("quit\n".getBytes(StandardCharsets.US_ASCII));
            commands.flush();
            assertThat(qemuIo.waitFor(10, TimeUnit.SECONDS)).isTrue();
        } finally {
            qemuIo.destroyForcibly();
        }
        try (DiskImage disk = DiskImages.open(image, null, true)) {
            assertThat(QemuMadeImagesTest.readAll(disk)[4095]).isEqualTo((byte) 5);
        }
    }
}
