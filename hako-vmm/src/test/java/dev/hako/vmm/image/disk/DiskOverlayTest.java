package dev.hako.vmm.image.disk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Overlays at a snapshot point: named as libvirt names them, created beside the image without opening it (a running
 * machine holds its writer lock), valid for qemu-img, never over an existing file, and refused in one line where
 * the directory cannot take them; and a disk moved onto one by {@link HandoverDisk#continueOn}, its image's writer
 * lock handed to the overlay's reader lock on its backing file: the frozen image keeps its bytes, other writers stay
 * out of it, and readers may come in.
 */
class DiskOverlayTest {
    private static final long SIZE = 4 << 20;

    @TempDir
    Path dir;

    @Test
    void theOverlayIsNamedAfterTheSnapshotBesideTheImage() {
        assertThat(DiskOverlay.beside(Path.of("/vm/disk.qcow2"), "snap1")).isEqualTo(Path.of("/vm/disk.snap1"));
        assertThat(DiskOverlay.beside(Path.of("/vm/disk.snap1"), "snap2")).isEqualTo(Path.of("/vm/disk.snap2"));
        assertThat(DiskOverlay.beside(Path.of("/vm/rootfs"), "s")).isEqualTo(Path.of("/vm/rootfs.s"));
        assertThat(DiskOverlay.beside(Path.of("/vm/.hidden"), "s")).isEqualTo(Path.of("/vm/.hidden.s"));
    }

    @Test
    void aRunningDiskGoesOnWithItsOverlayAndItsImageStaysAsItWas() throws Exception {
        Path image = dir.resolve("disk.raw");
        Files.write(image, new byte[(int) SIZE]);
        Path overlay = DiskOverlay.beside(image, "snap");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(4096);
            HandoverDisk disk = HandoverDisk.of(DiskImages.open(image, null, false));
            ram.fill((byte) 0x11);
            disk.write(0, ram, 0, 4096);

            DiskOverlay.create(overlay, image, DiskFormat.RAW, disk.size());
            assertThat(overlay).exists();
            try (Stream<Path> files = Files.list(dir)) {
                assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("disk.raw",
                        "disk.snap");
            }
            disk.continueOn(overlay);
            assertThat(disk.path()).isEqualTo(overlay);
            assertThat(disk.format()).isEqualTo(DiskFormat.QCOW2);
            assertThat(disk.size()).isEqualTo(SIZE);

            assertThatThrownBy(() -> DiskImages.open(image, null, false)).as("the frozen image stays locked")
                    .isInstanceOf(IOException.class).hasMessageContaining("lock");
            QemuTools.Result write = QemuTools.run("qemu-io", "-f", "raw", "-c", "write 0 512", image.toString());
            assertThat(write.status()).as(write.output()).isNotZero();
            assertThat(write.output()).contains("Failed to get \"write\" lock");
            try (DiskImage reader = DiskImages.open(image, null, true)) {
                assertThat(reader.size()).as("readers may share the frozen image").isEqualTo(SIZE);
            }

            ram.fill((byte) 0x22);
            disk.write(4096, ram, 0, 4096);
            disk.read(0, ram, 0, 4096);
            assertThat(ram.get(ValueLayout.JAVA_BYTE, 0)).as("the snapshot point's data, through the overlay")
                    .isEqualTo((byte) 0x11);
            disk.flush();
            assertThatThrownBy(() -> DiskImages.open(overlay, null, false)).as("the overlay is locked for writing")
                    .isInstanceOf(IOException.class).hasMessageContaining("lock");
            disk.close();
        }
        byte[] frozen = Files.readAllBytes(image);
        assertThat(Arrays.copyOfRange(frozen, 0, 4096)).containsOnly((byte) 0x11);
        assertThat(Arrays.copyOfRange(frozen, 4096, 8192)).as("written after the snapshot point").containsOnly(0);
        QemuTools.check(overlay, false);
        String chain = QemuTools.img("info", "--backing-chain", overlay.toString());
        assertThat(chain).contains("backing file: disk.raw").contains("backing file format: raw");
        byte[] through = QemuTools.contents(overlay, dir);
        assertThat(Arrays.copyOfRange(through, 4096, 8192)).containsOnly((byte) 0x22);
        DiskImages.open(image, null, false).close();
    }

    @Test
    void aQcow2ImageIsFrozenTooAndTheChainGrowsWithEachSnapshot() throws Exception {
        Path image = dir.resolve("disk.qcow2");
        Qcow2Image.create(image, SIZE, 16).close();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(4096);
            HandoverDisk disk = HandoverDisk.of(DiskImages.open(image, null, false));
            for (String snapshot : new String[] {"snap1", "snap2"}) {
                ram.fill((byte) snapshot.charAt(4));
                disk.write(snapshot.charAt(4) * 65536L, ram, 0, 4096);
                Path overlay = DiskOverlay.beside(disk.path(), snapshot);
                DiskOverlay.create(overlay, disk.path(), disk.format(), disk.size());
                disk.continueOn(overlay);
            }
            disk.close();
        }
        QemuTools.check(image, false);
        QemuTools.check(dir.resolve("disk.snap1"), false);
        QemuTools.check(dir.resolve("disk.snap2"), false);
        String chain = QemuTools.img("info", "--backing-chain", dir.resolve("disk.snap2").toString());
        assertThat(chain).contains("image: " + dir.resolve("disk.snap2")).contains("backing file: disk.snap1")
                .contains("backing file: disk.qcow2");
    }

    @Test
    void anOverlayNeverReplacesAFile() throws Exception {
        Path image = dir.resolve("disk.raw");
        Files.write(image, new byte[65536]);
        Path overlay = dir.resolve("disk.snap");
        Files.writeString(overlay, "precious");
        assertThatThrownBy(() -> DiskOverlay.create(overlay, image, DiskFormat.RAW, 65536))
                .isInstanceOf(IOException.class).hasMessage("overlay " + overlay + " exists: an overlay never "
                        + "replaces a file (name the snapshot differently or move the file away)");
        assertThat(Files.readString(overlay)).isEqualTo("precious");
    }

    @Test
    void aRestoreTakesTheNextFreeNumber() throws Exception {
        Path image = dir.resolve("disk.qcow2");
        Qcow2Image.create(image, SIZE, 16).close();
        Files.writeString(dir.resolve("disk.snap-restore-1"), "taken");
        Path overlay = DiskOverlay.createNumbered(image, "snap", DiskFormat.QCOW2, SIZE);
        assertThat(overlay).isEqualTo(dir.resolve("disk.snap-restore-2"));
        QemuTools.check(overlay, false);
    }

    @Test
    void aDirectoryThatCannotBeWrittenIsSaidInOneLine() throws Exception {
        Path image = dir.resolve("disk.raw");
        Files.write(image, new byte[65536]);
        boolean immutable = false;
        dir.toFile().setWritable(false);
        try {
            if (Files.isWritable(dir)) { // root writes anyway: make the directory immutable instead
                immutable = new ProcessBuilder("chattr", "+i", dir.toString()).start().waitFor() == 0;
                Assumptions.assumeTrue(immutable, "running as root on a file system without chattr +i");
            }
            assertThatThrownBy(() -> DiskOverlay.create(dir.resolve("disk.s"), image, DiskFormat.RAW, 65536))
                    .isInstanceOf(IOException.class)
                    .hasMessageStartingWith("cannot create the overlay " + dir.resolve("disk.s") + " in its directory")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n").doesNotContain(".tmp-"));
        } finally {
            if (immutable) {
                new ProcessBuilder("chattr", "-i", dir.toString()).start().waitFor();
            }
            dir.toFile().setWritable(true);
        }
        assertThat(dir.resolve("disk.s")).doesNotExist();
    }

    @Test
    void aFullFileSystemIsSaidInOneLineAndLeavesNothing() throws Exception {
        Path mount = Files.createDirectory(dir.resolve("small"));
        Process mounting = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", mount.toString())
                .redirectErrorStream(true).start();
        Assumptions.assumeTrue(mounting.waitFor() == 0, "cannot mount a small tmpfs (needs root)");
        try {
            Path image = mount.resolve("disk.raw");
            try (var raf = new java.io.RandomAccessFile(image.toFile(), "rw")) {
                raf.setLength(SIZE); // sparse: it takes no room
            }
            Files.write(mount.resolve("filler"), new byte[120 << 10]);
            assertThatThrownBy(() -> DiskOverlay.create(mount.resolve("disk.s"), image, DiskFormat.RAW, SIZE))
                    .isInstanceOf(IOException.class)
                    .hasMessageStartingWith("cannot write the overlay " + mount.resolve("disk.s"))
                    .hasMessageContaining("no room left on its file system").hasMessageContaining("ENOSPC")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
            try (Stream<Path> files = Files.list(mount)) {
                assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("disk.raw",
                        "filler");
            }
        } finally {
            new ProcessBuilder("umount", mount.toString()).start().waitFor();
        }
    }
}
