package dev.hako.vmm.image;

import dev.hako.vmm.image.disk.DiskFormat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hako.vmm.image.ImageBuildException.Reason;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The build's steps around mmdebstrap, with a stand-in for mmdebstrap (a script that makes a tiny system with a
 * kernel and initrd, or fails as mmdebstrap fails) and the host's real mkfs.ext4, e2fsck and debugfs: the bundle
 * appears whole or not at all, and each failure has its reason. The real mmdebstrap is DebianImageIT's.
 */
class DebianImageBuilderTest {
    /** Finds mmdebstrap's TARGET (the argument after the suite) and runs the essential hook as mmdebstrap does. */
    private static final String FAKE_SYSTEM = """
            #!/bin/sh
            set -e
            for a; do
              [ "$prev" = bookworm ] && target=$a
              case "$a" in --essential-hook=*) hook=${a#--essential-hook=} ;; esac
              prev=$a
            done
            echo "I: chroot architecture amd64 is equal to the host's architecture"
            mkdir -p "$target/boot" "$target/etc"
            echo kernel > "$target/boot/vmlinuz-6.1.0-99-cloud-amd64"
            echo initrd > "$target/boot/initrd.img-6.1.0-99-cloud-amd64"
            ln -s boot/vmlinuz-6.1.0-99-cloud-amd64 "$target/vmlinuz"
            ln -s /boot/initrd.img-6.1.0-99-cloud-amd64 "$target/initrd.img"
            sh -c "$hook" exec "$target"
            """;

    @TempDir
    Path tmp;
    private Path bin;
    private Path keyring;
    private Path out;
    private DebianImageSpec spec;
    private final List<String> progress = new ArrayList<>();

    @BeforeEach
    void host() throws IOException {
        bin = Files.createDirectories(tmp.resolve("bin"));
        keyring = Files.writeString(tmp.resolve("debian-archive-keyring.gpg"), "keys");
        Path mirror = Files.createDirectories(tmp.resolve("mirror/dists/bookworm"));
        Files.writeString(mirror.resolve("InRelease"), "release");
        out = Files.createDirectories(tmp.resolve("out"));
        spec = new DebianImageSpec(URI.create("file:" + tmp.resolve("mirror")), List.of(), "", "testhost",
                DebianImageSpec.MIN_DISK_BYTES, 256, 1);
    }

    @Test
    void buildsABundleWhoseDiskIsTheSystemInExt4() throws Exception {
        fakeMmdebstrap(FAKE_SYSTEM + "echo 'I: success in 0.1 seconds'\n");
        Path target = Files.createDirectory(out.resolve("vm"));  // an empty directory may be the target

        Bundle bundle = builder(0).build(spec, target);

        assertThat(bundle.directory()).isEqualTo(target);
        assertThat(names(target)).containsExactlyInAnyOrder("bundle.json", "disk.raw", "initrd.img", "vmlinuz");
        assertThat(names(out)).containsExactly("vm");
        assertThat(Files.readString(bundle.kernelFile())).isEqualTo("kernel\n");
        assertThat(Files.readString(bundle.initrdFile())).isEqualTo("initrd\n");
        assertThat(bundle.disk()).isEqualTo(new BundleDisk("disk.raw", DiskFormat.RAW));
        assertThat(Files.size(bundle.diskFile())).isEqualTo(DebianImageSpec.MIN_DISK_BYTES);
        assertThat(bundle.memoryMiB()).isEqualTo(256);
        assertThat(bundle.about()).containsEntry("kernel", "6.1.0-99-cloud-amd64")
                .containsEntry("recipe", DebianImageBuilder.fingerprint(spec));
        assertThat(HostCommand.run("e2fsck", "-fn", bundle.diskFile().toString())).startsWith("0:");
        // The disk holds the system, with the files the essential hook installed and their modes.
        String superblock = HostCommand.run("debugfs", "-R", "stats", bundle.diskFile().toString());
        String uuid = bundle.cmdline().replaceFirst("^root=UUID=(\\S+) .*", "$1");
        assertThat(superblock).contains("Filesystem UUID:          " + uuid)
                .contains("Filesystem volume name:   hako-root");
        String disk = bundle.diskFile().toString();
        assertThat(HostCommand.run("debugfs", "-R", "cat /etc/initramfs-tools/conf.d/hako", disk))
                .contains("MODULES=list");
        assertThat(HostCommand.run("debugfs", "-R", "stat /etc/initramfs-tools/hooks/hako", disk))
                .contains("Mode:  0755");
        assertThat(progress).anyMatch(l -> l.startsWith("[4/4]")).anyMatch(l -> l.startsWith("done in"));
    }

    @Test
    void aFailingMmdebstrapLeavesNothingAndShowsItsLastLines() throws Exception {
        fakeMmdebstrap("#!/bin/sh\necho 'I: running apt-get update...'\necho 'E: Unable to locate package nosuch'\n"
                + "exit 1\n");
        assertThatThrownBy(() -> builder(0).build(spec, out.resolve("vm")))
                .isInstanceOfSatisfying(ImageBuildException.class, e -> {
                    assertThat(e.reason()).isEqualTo(Reason.FAILED);
                    assertThat(e.getMessage()).isEqualTo("mmdebstrap failed (exit 1): E: Unable to locate package nosuch");
                    assertThat(e.details()).containsExactly("I: running apt-get update...",
                            "E: Unable to locate package nosuch");
                });
        assertThat(names(out)).isEmpty();
    }

    @Test
    void whatAStoppedMmdebstrapLeftMountedIsUnmountedBeforeRemoval() throws Exception {
        Assumptions.assumeTrue(HostTools.ofThisProcess().isRoot(), "mounting a tmpfs needs root");
        fakeMmdebstrap(FAKE_SYSTEM + "mkdir -p \"$target/proc\" \"$target/dev/pts\"\n"
                + "mount -t tmpfs hako-test \"$target/proc\"\nmount -t tmpfs hako-test \"$target/dev/pts\"\n"
                + "echo host-file-seen-through-the-mount > \"$target/proc/keep\"\nexit 2\n");
        assertThatThrownBy(() -> builder(0).build(spec, out.resolve("vm")))
                .isInstanceOfSatisfying(ImageBuildException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.FAILED));
        assertThat(names(out)).isEmpty();
        assertThat(HostMounts.under(out)).isEmpty();
    }

    @Test
    void aDownloadFailureIsNoNetwork() throws Exception {
        fakeMmdebstrap("#!/bin/sh\necho \"E: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease"
                + "  Temporary failure resolving 'deb.debian.org'\"\nexit 1\n");
        assertThatThrownBy(() -> builder(0).build(spec, out.resolve("vm")))
                .isInstanceOfSatisfying(ImageBuildException.class, e -> {
                    assertThat(e.reason()).isEqualTo(Reason.NO_NETWORK);
                    assertThat(e.getMessage()).startsWith("mmdebstrap could not download from file:");
                });
        assertThat(names(out)).isEmpty();
    }

    @Test
    void aSystemLargerThanTheDiskIsDiskTooSmall() throws Exception {
        fakeMmdebstrap(FAKE_SYSTEM + "truncate -s 600M \"$target/big\"\n");
        assertThatThrownBy(() -> builder(0).build(spec, out.resolve("vm")))
                .isInstanceOfSatisfying(ImageBuildException.class, e -> {
                    assertThat(e.reason()).isEqualTo(Reason.DISK_TOO_SMALL);
                    assertThat(e.getMessage()).matches("the system needs a disk of about \\d+ MiB, more than the "
                            + "512 MiB asked for");
                });
        assertThat(names(out)).isEmpty();
    }

    @Test
    void cancelStopsTheRunningToolAndRemovesTheBuild() throws Exception {
        fakeMmdebstrap(FAKE_SYSTEM + "touch \"$target/started\"\nexec sleep 120\n");
        DebianImageBuilder builder = builder(0);
        CompletableFuture<Reason> result = CompletableFuture.supplyAsync(() -> {
            try {
                builder.build(spec, out.resolve("vm"));
                return null;
            } catch (ImageBuildException e) {
                return e.reason();
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!started() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(started()).isTrue();
        long start = System.nanoTime();
        builder.cancel();
        assertThat(result.get(30, TimeUnit.SECONDS)).isEqualTo(Reason.INTERRUPTED);
        assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(20));
        assertThat(names(out)).isEmpty();
        assertThat(progress).anyMatch(l -> l.startsWith("interrupted: stopping and removing the partial build"));
    }

    @Test
    void hostChecksComeBeforeAnyWork() throws Exception {
        fakeMmdebstrap(FAKE_SYSTEM);
        assertThatThrownBy(() -> builder(1000).build(spec, out.resolve("vm")))
                .isInstanceOfSatisfying(ImageBuildException.class, e -> {
                    assertThat(e.reason()).isEqualTo(Reason.NOT_ROOT);
                    assertThat(e.getMessage()).contains("needs root").contains("sudo");
                });
        HostTools bare = new HostTools(List.of(tmp.resolve("nothing")), 0, tmp.resolve("no-keyring"));
        assertThatThrownBy(() -> new DebianImageBuilder(bare, progress::add).build(spec, out.resolve("vm")))
                .isInstanceOfSatisfying(ImageBuildException.class, e -> {
                    assertThat(e.reason()).isEqualTo(Reason.MISSING_TOOL);
                    assertThat(e.getMessage()).isEqualTo("building an image needs mmdebstrap and mkfs.ext4, which "
                            + "this host lacks: apt-get install mmdebstrap e2fsprogs debian-archive-keyring");
                });
        Files.writeString(Files.createDirectories(out.resolve("used")).resolve("file"), "x");
        assertThatThrownBy(() -> builder(0).build(spec, out.resolve("used")))
                .isInstanceOfSatisfying(ImageBuildException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.USAGE))
                .hasMessage(out.resolve("used") + " exists and is not empty; give a new directory for the bundle");
        assertThat(names(out)).containsExactly("used");
    }

    private DebianImageBuilder builder(int uid) {
        // A raw disk, so that debugfs and e2fsck read the file system directly; DebianImageIT checks the qcow2.
        return new DebianImageBuilder(new HostTools(List.of(bin, Path.of("/usr/sbin"), Path.of("/sbin")), uid,
                keyring), BundleDiskWriter.RAW, progress::add);
    }

    private void fakeMmdebstrap(String script) throws IOException {
        Path file = bin.resolve("mmdebstrap");
        Files.writeString(file, script, StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private boolean started() throws IOException {
        try (Stream<Path> entries = Files.list(out)) {
            return entries.anyMatch(p -> Files.exists(p.resolve(".build/system/started")));
        }
    }

    private static List<String> names(Path directory) throws IOException {
        try (Stream<Path> entries = Files.list(directory)) {
            return entries.map(p -> p.getFileName().toString()).toList();
        }
    }
}
