package dev.hako.vmm.image;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The archive is read back by the host's GNU cpio, and its layout checked against the kernel's rules. */
class CpioWriterTest {
    @TempDir
    Path dir;

    private static byte[] sample() {
        return new CpioWriter()
                .directory("/bin", 0755)
                .directory("dev", 0755)
                .file("/bin/hello", 0755, "#!/bin/sh\necho hi\n".getBytes(StandardCharsets.US_ASCII))
                .file("odd", 0640, new byte[] {1, 2, 3, 4, 5})
                .symlink("/bin/sh", "busybox")
                .charDevice("/dev/console", 0600, 5, 1)
                .finish();
    }

    private String cpio(Path archive, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("cpio", "--quiet"));
        command.addAll(List.of(args));
        Process p;
        try {
            p = new ProcessBuilder(command).directory(dir.toFile()).redirectInput(archive.toFile())
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort("GNU cpio is not installed: no host oracle for the archive format");
            return "";
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        return out;
    }

    private Path archive() throws IOException {
        Path file = dir.resolve("archive.cpio");
        Files.write(file, sample());
        return file;
    }

    @Test
    void hostCpioListsEveryEntryInOrder() throws Exception {
        assertThat(cpio(archive(), "-t").lines().toList())
                .containsExactly("bin", "dev", "bin/hello", "odd", "bin/sh", "dev/console");
    }

    @Test
    void hostCpioSeesTypesModesAndDeviceNumbers() throws Exception {
        String listing = cpio(archive(), "-tv");
        assertThat(listing).containsPattern("(?m)^crw------- .* 5, +1 .* dev/console$")
                .containsPattern("(?m)^lrwxrwxrwx .* bin/sh -> busybox$")
                .containsPattern("(?m)^-rwxr-xr-x .* 18 .* bin/hello$")
                .containsPattern("(?m)^drwxr-xr-x .* bin$");
    }

    @Test
    void hostCpioExtractsContentsAndPermissions() throws Exception {
        Path archive = archive();
        Path out = Files.createDirectory(dir.resolve("out"));
        Process p = new ProcessBuilder("cpio", "--quiet", "-id", "--no-absolute-filenames", "--nonmatching",
                "dev/console").directory(out.toFile()).redirectInput(archive.toFile()).redirectErrorStream(true)
                .start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(log).isZero();
        assertThat(Files.readString(out.resolve("bin/hello"))).isEqualTo("#!/bin/sh\necho hi\n");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(out.resolve("odd"))))
                .isEqualTo("rw-r-----");
        assertThat(Files.readAllBytes(out.resolve("odd"))).containsExactly(1, 2, 3, 4, 5);
        assertThat(Files.isSymbolicLink(out.resolve("bin/sh"))).isTrue();
        assertThat(Files.readSymbolicLink(out.resolve("bin/sh")).toString()).isEqualTo("busybox");
        assertThat(Files.isDirectory(out.resolve("dev"), LinkOption.NOFOLLOW_LINKS)).isTrue();
    }

    @Test
    void headersAndDataFollowTheNewcAlignmentRules() {
        byte[] archive = sample();
        assertThat(archive.length % 4).isZero();
        int at = 0;
        String name;
        do {
            assertThat(at % 4).isZero();
            String header = new String(archive, at, 110, StandardCharsets.US_ASCII);
            assertThat(header).startsWith("070701");
            int fileSize = Integer.parseInt(header.substring(54, 62), 16);
            int nameSize = Integer.parseInt(header.substring(94, 102), 16);
            assertThat(header.substring(102, 110)).as("check").isEqualTo("00000000");
            name = new String(archive, at + 110, nameSize - 1, StandardCharsets.US_ASCII);
            assertThat(archive[at + 110 + nameSize - 1]).isZero();
            int data = (at + 110 + nameSize + 3) & ~3;
            at = (data + fileSize + 3) & ~3;
        } while (!name.equals("TRAILER!!!"));
        assertThat(at).isEqualTo(archive.length);
    }

    @Test
    void inodesAreUniqueSoNothingLooksLikeAHardLink() {
        byte[] archive = sample();
        List<String> inodes = new ArrayList<>();
        int at = 0;
        while (true) {
            String header = new String(archive, at, 110, StandardCharsets.US_ASCII);
            int fileSize = Integer.parseInt(header.substring(54, 62), 16);
            int nameSize = Integer.parseInt(header.substring(94, 102), 16);
            if (new String(archive, at + 110, nameSize - 1, StandardCharsets.US_ASCII).equals("TRAILER!!!")) {
                break;
            }
            inodes.add(header.substring(6, 14));
            at = (((at + 110 + nameSize + 3) & ~3) + fileSize + 3) & ~3;
        }
        assertThat(inodes).doesNotHaveDuplicates().hasSize(6);
    }

    @Test
    void entriesBeforeTheirDirectoryOrTwiceAreRefused() {
        assertThatThrownBy(() -> new CpioWriter().file("etc/passwd", 0644, new byte[0]))
                .hasMessageContaining("before its directory");
        assertThatThrownBy(() -> new CpioWriter().directory("etc", 0755).directory("/etc/", 0755))
                .hasMessageContaining("duplicate");
    }

    @Test
    void parentsAddsOnlyTheMissingDirectories() throws Exception {
        Path file = dir.resolve("parents.cpio");
        Files.write(file, new CpioWriter().directory("usr", 0700).parents("/usr/lib/x86_64-linux-gnu/libc.so.6")
                .file("/usr/lib/x86_64-linux-gnu/libc.so.6", 0644, new byte[] {7}).parents("/top").finish());
        String listing = cpio(file, "-tv");
        assertThat(listing.lines().map(l -> l.substring(l.lastIndexOf(' ') + 1)).toList())
                .containsExactly("usr", "usr/lib", "usr/lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu/libc.so.6");
        assertThat(listing).containsPattern("(?m)^drwx------ .* usr$")
                .containsPattern("(?m)^drwxr-xr-x .* usr/lib/x86_64-linux-gnu$");
    }
}
