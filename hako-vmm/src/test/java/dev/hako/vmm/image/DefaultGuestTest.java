package dev.hako.vmm.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The default initramfs, built from Debian's busybox-static and read back with the host's cpio. */
class DefaultGuestTest {
    @TempDir
    Path dir;

    private Path unpack() throws Exception {
        Path archive = dir.resolve("initramfs.cpio");
        Files.write(archive, DefaultGuest.initramfs(DebianPackages.inDefaultCache()));
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
}
