package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import dev.hako.vmm.image.disk.DiskFormat;
import dev.hako.vmm.image.disk.DiskImage;
import dev.hako.vmm.image.disk.DiskImages;
import dev.hako.vmm.snapshot.MachineSnapshots;
import dev.hako.vmm.snapshot.SnapshotException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A paused machine (Debian's kernel on the soft CPU, a writable raw disk and a read-only one) refused a snapshot with
 * overlays in one line when the overlay's name is taken or its directory cannot be written, each time left writing
 * its image; then frozen: only the writable disk goes on with an overlay, the snapshot marks only it frozen, and the
 * machine runs on. A machine whose only disk is read-only has nothing to freeze and is refused.
 */
class SnapshotOverlaysIT {
    @TempDir
    Path work;

    @Test
    void overlaysThatCannotBeMadeLeaveTheMachineOnItsImages() throws Exception {
        DebianPackages packages = DebianPackages.inDefaultCache();
        Path initrd = DefaultGuest.cachedInitramfs(packages);
        Path disks = Files.createDirectory(work.resolve("disks"));
        Path rw = disks.resolve("rw.raw");
        Path ro = disks.resolve("ro.raw");
        Files.write(rw, new byte[1 << 20]);
        Files.write(ro, new byte[1 << 20]);
        Path snapshot = work.resolve("snap");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        try (Machine m = Machine.create(config(packages, initrd, List.of(
                new Disk(DiskImages.open(rw, DiskFormat.RAW, false), "rw"),
                new Disk(DiskImages.open(ro, DiskFormat.RAW, true), "ro"))), new RecordingConsole(),
                new PrintStream(log, true))) {
            m.start();
            Thread.sleep(500);
            assertThat(m.pause()).isTrue();

            Path taken = disks.resolve("rw.snap");
            Files.writeString(taken, "someone else's");
            assertThatThrownBy(() -> MachineSnapshots.takeWithOverlays(m, snapshot))
                    .isInstanceOf(SnapshotException.class).hasMessageContaining("overlay " + taken + " for disk 'rw' "
                            + "exists");
            assertThat(Files.readString(taken)).isEqualTo("someone else's");
            Files.delete(taken);
            assertOnItsImages(m, rw, ro);

            boolean immutable = new ProcessBuilder("chattr", "+i", disks.toString()).start().waitFor() == 0;
            if (!immutable) {
                disks.toFile().setWritable(false);
            }
            try {
                if (immutable || !Files.isWritable(disks)) {
                    assertThatThrownBy(() -> MachineSnapshots.takeWithOverlays(m, snapshot))
                            .isInstanceOf(SnapshotException.class)
                            .hasMessageContaining("cannot create the overlay " + taken + " in its directory");
                }
            } finally {
                if (immutable) {
                    new ProcessBuilder("chattr", "-i", disks.toString()).start().waitFor();
                }
                disks.toFile().setWritable(true);
            }
            assertOnItsImages(m, rw, ro);
            assertThat(snapshot).doesNotExist();
            try (var files = Files.list(disks)) {
                assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("rw.raw", "ro.raw");
            }

            List<MachineSnapshots.Frozen> frozen = MachineSnapshots.takeWithOverlays(m, snapshot);
            assertThat(frozen).containsExactly(new MachineSnapshots.Frozen(rw, taken));
            assertThat(((DiskImage) m.config().disks().get(0).backend()).path()).isEqualTo(taken);
            assertThat(((DiskImage) m.config().disks().get(1).backend()).path()).isEqualTo(ro);
            String document = Files.readString(snapshot.resolve("machine.json"));
            assertThat(document).containsPattern("\"path\" : \"" + rw + "\",[^}]*\"frozen\" : true")
                    .containsPattern("\"path\" : \"" + ro + "\",[^}]*\"frozen\" : false");
            m.resume();
            assertThat(m.awaitExit(1, TimeUnit.SECONDS)).as("runs on; hako said: %s", log).isEqualTo(-1);
        }

        try (Machine m = Machine.create(config(packages, initrd, List.of(
                new Disk(DiskImages.open(ro, DiskFormat.RAW, true), "ro"))), new RecordingConsole(),
                new PrintStream(log, true))) {
            m.start();
            assertThat(m.pause()).isTrue();
            assertThatThrownBy(() -> MachineSnapshots.takeWithOverlays(m, work.resolve("other")))
                    .isInstanceOf(SnapshotException.class).hasMessageStartingWith("the machine has no writable disk");
        }
    }

    private static void assertOnItsImages(Machine m, Path rw, Path ro) {
        DiskImage first = (DiskImage) m.config().disks().get(0).backend();
        assertThat(first.path()).isEqualTo(rw);
        assertThat(first.format()).isEqualTo(DiskFormat.RAW);
        assertThat(((DiskImage) m.config().disks().get(1).backend()).path()).isEqualTo(ro);
        assertThatThrownBy(() -> DiskImages.open(rw, DiskFormat.RAW, true)).as("still locked for writing")
                .hasMessageContaining("lock");
    }

    private static MachineConfig config(DebianPackages packages, Path initrd, List<Disk> disks) throws Exception {
        return new MachineConfig(packages.debianKernel(), initrd, DefaultGuest.CMDLINE, 128L << 20, 1, "soft", disks);
    }
}
