package dev.hako.vmm.image.disk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A disk handed from one machine to another over shared storage, as a live migration does it, with QEMU's image
 * lock as the arbiter: the holder releases (metadata written, lock free) before the other acquires (metadata read
 * fresh: it sees what the first wrote, clusters it allocated included); while one holds the image the other cannot
 * take it back; and a changed image is refused. qemu-img check finds the image clean after the handovers.
 */
class HandoverDiskTest {
    private static final long SIZE = 4 << 20;

    @TempDir
    Path dir;

    @Test
    void theImageGoesToTheOtherSideOnlyAfterItWasReleasedAndTheLockDecidesWhoHoldsIt() throws Exception {
        Path path = dir.resolve("shared.qcow2");
        Qcow2Image.create(path, SIZE, 16).close();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(8192);
            HandoverDisk source = HandoverDisk.of(DiskImages.open(path, DiskFormat.QCOW2, false));
            HandoverDisk destination = HandoverDisk.released(path, DiskFormat.QCOW2, false, SIZE);
            assertThat(destination.held()).isFalse();
            assertThatThrownBy(() -> destination.read(0, ram, 0, 512)).isInstanceOf(IOException.class)
                    .hasMessageContaining("released");

            ram.fill((byte) 0x5A);
            source.write(3 << 20, ram, 0, 4096);  // allocates a cluster: new L2 and refcount entries in the caches
            assertThatThrownBy(destination::acquire).as("the source holds the image")
                    .isInstanceOf(IOException.class).hasMessageContaining("lock");

            source.release();
            assertThat(source.held()).isFalse();
            destination.acquire();
            ram.fill((byte) 0);
            destination.read(3 << 20, ram, 4096, 4096);
            assertThat(ram.asSlice(4096, 4096).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
                    .as("what the source wrote, read through metadata read fresh").containsOnly((byte) 0x5A);

            assertThatThrownBy(source::acquire).as("the destination holds the image now")
                    .isInstanceOf(IOException.class).hasMessageContaining(path.toString());
            assertThat(source.held()).isFalse();

            ram.fill((byte) 0x33);
            destination.write(1 << 20, ram, 0, 4096);
            destination.close();
            source.acquire();
            source.read(1 << 20, ram, 4096, 4096);
            assertThat(ram.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 4096)).isEqualTo((byte) 0x33);
            source.close();
        }
        assertThat(QemuTools.img("check", path.toString())).contains("No errors were found");
    }

    @Test
    void anImageThatChangedSizeIsRefused() throws Exception {
        Path path = dir.resolve("grown.qcow2");
        Qcow2Image.create(path, SIZE * 2, 16).close();
        HandoverDisk destination = HandoverDisk.released(path, DiskFormat.QCOW2, false, SIZE);
        assertThatThrownBy(destination::acquire).isInstanceOf(IOException.class)
                .hasMessageContaining("holds " + SIZE * 2 + " bytes, the machine's disk " + SIZE);
        assertThat(destination.held()).isFalse();
        DiskImages.open(path, DiskFormat.QCOW2, false).close();  // the refused open left no lock behind
    }
}
