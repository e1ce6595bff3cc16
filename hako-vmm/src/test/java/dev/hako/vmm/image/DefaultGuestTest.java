package dev.hako.vmm.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

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
        Path root = unpack(DefaultGuest.initramfs(busybox, "#!/bin/busybox sh\necho mine\n", List.of(
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
        assertThatThrownBy(() -> DefaultGuest.initramfs(busybox, DefaultGuest.initScript(),
                List.of(new DefaultGuest.GuestFile("/init", 0755, new byte[0])))).hasMessageContaining("/init");
        assertThatThrownBy(() -> new DefaultGuest.GuestFile("opt/x", 0755, new byte[0]))
                .hasMessageContaining("not an absolute file path");
        assertThatThrownBy(() -> new DefaultGuest.GuestFile("/opt/../init", 0755, new byte[0]))
                .hasMessageContaining("not an absolute file path");
    }
}
