package dev.hako.vmm.boot;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import dev.hako.vmm.host.UnusableFileException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The loader is chosen by content, and anything else is refused with a message naming what the file is. */
class KernelLoadersTest {
    @TempDir
    Path dir;

    private Path write(String name, byte[] content) throws Exception {
        Path file = dir.resolve(name);
        Files.write(file, content);
        return file;
    }

    @Test
    void bzImageGoesToTheBzImageLoader() throws Exception {
        assertThat(KernelLoaders.forFile(DebianKernelFixture.vmlinuzPath())).isInstanceOf(BzImageLoader.class);
    }

    @Test
    void pvhVmlinuxGoesToThePvhLoader() throws Exception {
        assertThat(KernelLoaders.forBytes(DebianKernelFixture.vmlinux(), "vmlinux")).isInstanceOf(PvhLoader.class);
    }

    @Test
    void missingFile() {
        assertThatThrownBy(() -> KernelLoaders.forFile(dir.resolve("nope")))
                .isInstanceOf(UnusableFileException.class).hasMessageContaining("no such file");
    }

    @Test
    void directory() {
        assertThatThrownBy(() -> KernelLoaders.forFile(dir)).hasMessageContaining("is a directory");
    }

    @Test
    void characterDevice() {
        assertThatThrownBy(() -> KernelLoaders.forFile(Path.of("/dev/null")))
                .hasMessage("kernel /dev/null is a character device, not a file");
    }

    @Test
    void fileLargerThanTheGuestsRamIsRefusedBeforeItIsRead() throws Exception {
        Path huge = dir.resolve("huge");
        try (RandomAccessFile file = new RandomAccessFile(huge.toFile(), "rw")) {
            file.setLength(3L << 30); // sparse: nothing is written, and nothing may be read
        }
        long start = System.nanoTime();
        assertThatThrownBy(() -> KernelLoaders.forFile(huge, 512L << 20, "the guest's 512 MiB of RAM"))
                .isInstanceOf(UnusableFileException.class)
                .hasMessage("kernel " + huge + " is 3 GiB, more than the guest's 512 MiB of RAM");
        assertThat(System.nanoTime() - start).isLessThan(1_000_000_000L);
    }

    @Test
    void truncatedBzImageIsNamedSo() throws Exception {
        byte[] whole = DebianKernelFixture.bzImage();
        Path part = write("vmlinuz-part", Arrays.copyOf(whole, 5 << 20));
        assertThatThrownBy(() -> KernelLoaders.forFile(part)).isInstanceOf(KernelFormatException.class)
                .hasMessageContaining("is truncated").hasMessageContaining("the file has " + (5 << 20));
    }

    @Test
    void emptyFile() throws Exception {
        Path empty = write("empty", new byte[0]);
        assertThatThrownBy(() -> KernelLoaders.forFile(empty)).hasMessageContaining("is empty");
    }

    @Test
    void textFile() throws Exception {
        Path text = write("notes.txt", "hello, this is not a kernel\n".repeat(40).getBytes());
        assertThatThrownBy(() -> KernelLoaders.forFile(text))
                .hasMessageContaining("neither an ELF nor a bzImage").hasMessageContaining("68 65 6c 6c");
    }

    @Test
    void gzipFile() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bytes)) {
            gz.write(new byte[1000]);
        }
        Path gz = write("vmlinux.gz", bytes.toByteArray());
        assertThatThrownBy(() -> KernelLoaders.forFile(gz)).hasMessageContaining("gzip-compressed");
    }

    @Test
    void cpioArchive() throws Exception {
        Path cpio = write("initrd", "070701000000010000".getBytes());
        assertThatThrownBy(() -> KernelLoaders.forFile(cpio)).hasMessageContaining("cpio archive");
    }

    @Test
    void thirtyTwoBitElf() throws Exception {
        byte[] elf = new byte[64];
        elf[0] = 0x7F;
        elf[1] = 'E';
        elf[2] = 'L';
        elf[3] = 'F';
        elf[4] = Elf64.ELFCLASS32;
        elf[5] = Elf64.ELFDATA2LSB;
        Path file = write("vmlinux32", elf);
        assertThatThrownBy(() -> KernelLoaders.forFile(file)).hasMessageContaining("32-bit ELF");
    }

    @Test
    void elfWithoutPvhNote() throws Exception {
        // The host's own /bin/true: a perfectly good x86-64 ELF, but not a PVH kernel.
        Path hostBinary = Path.of("/bin/true").toRealPath();
        assertThatThrownBy(() -> KernelLoaders.forFile(hostBinary))
                .hasMessageContaining("without a PVH entry note").hasMessageContaining("CONFIG_PVH");
    }

    @Test
    void elfForAnotherMachine() throws Exception {
        byte[] elf = DebianKernelFixture.vmlinux().clone();
        ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN).putShort(0x12, (short) 183);  // EM_AARCH64
        assertThatThrownBy(() -> KernelLoaders.forBytes(elf, "arm64"))
                .hasMessageContaining("machine 183, not x86-64");
    }

    private static byte[] patchedBzImage(int offset, int value, int size) {
        byte[] image = DebianKernelFixture.bzImage().clone();
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        if (size == 1) {
            b.put(offset, (byte) value);
        } else {
            b.putShort(offset, (short) value);
        }
        return image;
    }

    @Test
    void bzImageWithTooOldBootProtocol() {
        byte[] old = patchedBzImage(BootParams.VERSION, 0x0206, 2);
        assertThatThrownBy(() -> KernelLoaders.forBytes(old, "old"))
                .hasMessageContaining("boot protocol 2.06").hasMessageContaining("2.12 or newer");
    }

    @Test
    void bzImageWithoutSixtyFourBitEntry() {
        byte[] image = patchedBzImage(BootParams.XLOADFLAGS, 0, 2);
        assertThatThrownBy(() -> KernelLoaders.forBytes(image, "i386")).hasMessageContaining("32-bit kernel");
    }

    @Test
    void zImage() {
        byte[] image = patchedBzImage(BootParams.LOADFLAGS, 0, 1);
        assertThatThrownBy(() -> KernelLoaders.forBytes(image, "zImage")).hasMessageContaining("is a zImage");
    }

    @Test
    void bootSectorWithoutSetupHeader() {
        byte[] image = patchedBzImage(BootParams.HEADER, 0, 2);
        assertThatThrownBy(() -> KernelLoaders.forBytes(image, "floppy")).hasMessageContaining("no \"HdrS\"");
    }

    @Test
    void truncatedBzImage() {
        byte[] image = java.util.Arrays.copyOf(DebianKernelFixture.bzImage(), 4096);
        assertThatThrownBy(() -> KernelLoaders.forBytes(image, "cut")).hasMessageContaining("truncated");
    }
}
