package dev.hako.vmm.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.nio.file.attribute.FileTime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The default initramfs, built from Debian's busybox-static and read back with the host's cpio. */
class DefaultGuestTest {
    @TempDir
    Path dir;

    private Path unpack() throws Exception {
        return unpack(DefaultGuest.initramfs(DebianPackages.inDefaultCache()));
    }

    private Path unpack(byte[] initramfs) throws Exception {
        Path archive = dir.resolve("initramfs.cpio");
        Files.write(archive, initramfs);
        Path root = Files.createDirectory(dir.resolve("root"));
        Process p = new ProcessBuilder("cpio", "--quiet", "-id", "--nonmatching", "dev/*")
                .directory(root.toFile()).redirectInput(archive.toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(log).isZero();
        return root;
    }

    @Test
    void initramfsHoldsBusyboxItsAppletsAndAnInit() throws Exception {
        Path root = unpack();
        assertThat(Files.isExecutable(root.resolve("init"))).isTrue();
        assertThat(Files.readString(root.resolve("init"))).startsWith("#!/bin/busybox sh\n");
        assertThat(Files.size(root.resolve("bin/busybox")))
                .isEqualTo(Files.size(DebianPackages.inDefaultCache().busybox()));
        assertThat(Files.readSymbolicLink(root.resolve("bin/sh")).toString()).isEqualTo("/bin/busybox");
        assertThat(Files.readSymbolicLink(root.resolve("bin/mount")).toString()).isEqualTo("/bin/busybox");
        assertThat(Files.readString(root.resolve("sbin/poweroff"))).contains("poweroff -f");
        assertThat(Files.readAllLines(root.resolve(KernelModules.LOAD_ORDER.substring(1))))
                .as("the modules /init loads, in order").endsWith("virtio_pci.ko", "virtio_balloon.ko");
        assertThat(root.resolve("lib/modules/virtio_balloon.ko")).isNotEmptyFile();
    }

    @Test
    void consoleDeviceNodeIsInTheArchive() throws Exception {
        byte[] archive = DefaultGuest.initramfs(DebianPackages.inDefaultCache());
        Path file = dir.resolve("a.cpio");
        Files.write(file, archive);
        Process p = new ProcessBuilder("cpio", "--quiet", "-tv").redirectInput(file.toFile())
                .redirectErrorStream(true).start();
        String listing = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).isZero();
        assertThat(listing).containsPattern("(?m)^crw------- .* 5, +1 .* dev/console$")
                .containsPattern("(?m)^crw-rw---- .* 4, +64 .* dev/ttyS0$");
    }

    @Test
    void initScriptIsValidShellForBusybox() throws Exception {
        Path root = unpack();
        Process p = new ProcessBuilder(root.resolve("bin/busybox").toString(), "sh", "-n", "init")
                .directory(root.toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(log).isZero();
        assertThat(DefaultGuest.initScript()).contains("mount -t devtmpfs devtmpfs /dev", "setsid cttyhack sh",
                "poweroff -f", DefaultGuest.BANNER);
    }

    @Test
    void addedFilesLandAtTheirPathsAndMayReplaceAnAppletLink() throws Exception {
        Path busybox = DebianPackages.inDefaultCache().busybox();
        Path program = dir.resolve("program");
        Files.write(program, new byte[] {0x7F, 'E', 'L', 'F', 1, 2, 3});
        Files.setPosixFilePermissions(program, PosixFilePermissions.fromString("rwxr-x---"));
        Path root = unpack(DefaultGuest.initramfs(busybox, "#!/bin/busybox sh\necho mine\n".getBytes(StandardCharsets.UTF_8), List.of(
                DefaultGuest.GuestFile.copyOf(program, "/opt/deep/dir/program"),
                new DefaultGuest.GuestFile("/bin/tr", 0644, "not the applet".getBytes(StandardCharsets.US_ASCII)))));
        assertThat(Files.readAllBytes(root.resolve("opt/deep/dir/program")))
                .containsExactly(0x7F, 'E', 'L', 'F', 1, 2, 3);
        assertThat(Files.isExecutable(root.resolve("opt/deep/dir/program"))).isTrue();
        assertThat(Files.isSymbolicLink(root.resolve("bin/tr"))).isFalse();
        assertThat(Files.readString(root.resolve("bin/tr"))).isEqualTo("not the applet");
        assertThat(Files.readString(root.resolve("init"))).isEqualTo("#!/bin/busybox sh\necho mine\n");
        assertThat(Files.isSymbolicLink(root.resolve("bin/sed"))).isTrue();
    }

    @Test
    void addedFilesMayNotTakeTheInitsPlaceOrBeRelative() throws Exception {
        Path busybox = DebianPackages.inDefaultCache().busybox();
        assertThatThrownBy(() -> DefaultGuest.initramfs(busybox, DefaultGuest.initScript().getBytes(StandardCharsets.UTF_8),
                List.of(new DefaultGuest.GuestFile("/init", 0755, new byte[0])))).hasMessageContaining("/init");
        assertThatThrownBy(() -> new DefaultGuest.GuestFile("opt/x", 0755, new byte[0]))
                .hasMessageContaining("not an absolute file path");
        assertThatThrownBy(() -> new DefaultGuest.GuestFile("/opt/../init", 0755, new byte[0]))
                .hasMessageContaining("not an absolute file path");
    }

    @Test
    void cachedInitramfsIsWrittenOnceAndThenOnlyRead() throws Exception {
        Path busybox = DebianPackages.inDefaultCache().busybox();
        Path cache = Files.createDirectory(dir.resolve("cache"));
        Path first = DefaultGuest.cachedInitramfs(busybox, cache);
        assertThat(first.getParent()).isEqualTo(cache);
        assertThat(Files.readAllBytes(first)).isEqualTo(DefaultGuest.initramfs(busybox));
        Object inode = Files.getAttribute(first, "unix:ino");
        FileTime written = Files.getLastModifiedTime(first);
        Thread.sleep(20);
        Path second = DefaultGuest.cachedInitramfs(busybox, cache);
        assertThat(second).isEqualTo(first);
        assertThat(Files.getAttribute(second, "unix:ino")).as("not replaced").isEqualTo(inode);
        assertThat(Files.getLastModifiedTime(second)).as("not rewritten").isEqualTo(written);
        try (var files = Files.list(cache)) {
            assertThat(files.toList()).containsExactly(first);
        }
    }

    @Test
    void runsAtTheSameTimeShareOneWholeEntry() throws Exception {
        Path busybox = DebianPackages.inDefaultCache().busybox();
        Path cache = Files.createDirectory(dir.resolve("cache"));
        byte[] expected = DefaultGuest.initramfs(busybox);
        var pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            var runs = new java.util.ArrayList<java.util.concurrent.Future<byte[]>>();
            for (int i = 0; i < 6; i++) {
                runs.add(pool.submit(() -> Files.readAllBytes(DefaultGuest.cachedInitramfs(busybox, cache))));
            }
            for (var run : runs) {
                assertThat(run.get()).isEqualTo(expected);
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void aCacheThatCannotBeWrittenFallsBackToATemporaryFile() throws Exception {
        Path busybox = DebianPackages.inDefaultCache().busybox();
        // Tests run as root, for whom permissions do not stop a write: a directory under a file cannot exist.
        Path unwritable = Files.writeString(dir.resolve("a-file"), "x").resolve("cache");
        Path file = DefaultGuest.cachedInitramfs(busybox, unwritable);
        assertThat(file.startsWith(unwritable)).isFalse();
        assertThat(Files.readAllBytes(file)).isEqualTo(DefaultGuest.initramfs(busybox));
    }
}
