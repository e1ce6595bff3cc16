package dev.hako.vmm.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The snapshot directory on a real file system: the memory file is sparse (only pages with data are allocated, as
 * {@code stat} counts blocks) and reads back byte for byte; a snapshot replaces an earlier one whole, leaves no
 * temporary directory behind, cleans up after a dead writer, and never replaces a directory that is not a snapshot.
 */
class SnapshotDirectoryTest {
    private static final long RAM = 64L << 20;

    @TempDir
    Path work;

    @Test
    void theMemoryFileHoldsOnlyPagesWithDataAndReadsBackWhole() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(RAM, 4096);
            ram.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
            ram.set(ValueLayout.JAVA_BYTE, (5L << 20) + 4095, (byte) 2); // the last byte of a page
            ram.asSlice(40L << 20, 3L << 20).fill((byte) 0x5A); // a run of 768 pages
            ram.set(ValueLayout.JAVA_BYTE, RAM - 1, (byte) 3);
            Path dir = work.resolve("snap");
            SnapshotDirectory.Written w = SnapshotDirectory.write(dir, "{}".getBytes(StandardCharsets.UTF_8), ram);

            long dataPages = 3 + 768;
            assertThat(w.dataBytes()).isEqualTo(dataPages * 4096);
            Path memory = dir.resolve(SnapshotDirectory.MEMORY);
            assertThat(Files.size(memory)).isEqualTo(RAM);
            assertThat(allocatedBytes(memory)).as("blocks allocated to the memory file")
                    .isBetween(dataPages * 4096, dataPages * 4096 + (64 << 10));
            MemorySegment back = MemorySegment.ofArray(Files.readAllBytes(memory));
            assertThat(MemorySegment.mismatch(ram, 0, RAM, back, 0, RAM)).isEqualTo(-1);
        }
    }

    @Test
    void aNewSnapshotReplacesTheOldOneWholeAndLeavesNoTemporaryDirectory() throws Exception {
        Path dir = work.resolve("snap");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(1 << 20, 4096);
            ram.fill((byte) 1);
            SnapshotDirectory.write(dir, "{\"n\":1}".getBytes(StandardCharsets.UTF_8), ram);
            ram.fill((byte) 2);
            SnapshotDirectory.write(dir, "{\"n\":2}".getBytes(StandardCharsets.UTF_8), ram);
        }
        assertThat(Files.readString(dir.resolve(SnapshotDirectory.DOCUMENT))).isEqualTo("{\"n\":2}");
        assertThat(Files.readAllBytes(dir.resolve(SnapshotDirectory.MEMORY))).containsOnly(2);
        try (Stream<Path> left = Files.list(work)) {
            assertThat(left).containsExactly(dir);
        }
    }

    @Test
    void aDeadWritersTemporaryDirectoryIsRemovedByTheNextWrite() throws Exception {
        Process dead = new ProcessBuilder("true").start();
        dead.waitFor();
        Path abandoned = Files.createDirectory(work.resolve("snap.tmp-" + dead.pid()));
        Files.writeString(abandoned.resolve(SnapshotDirectory.MEMORY), "half");
        try (Arena arena = Arena.ofConfined()) {
            SnapshotDirectory.write(work.resolve("snap"), "{}".getBytes(StandardCharsets.UTF_8),
                    arena.allocate(4096));
        }
        assertThat(abandoned).doesNotExist();
    }

    @Test
    void aDirectoryThatIsNotASnapshotIsNeverReplaced() throws Exception {
        Path dir = Files.createDirectory(work.resolve("photos"));
        Files.writeString(dir.resolve("holiday.jpg"), "precious");
        try (Arena arena = Arena.ofConfined()) {
            assertThatThrownBy(() -> SnapshotDirectory.write(dir, "{}".getBytes(StandardCharsets.UTF_8),
                    arena.allocate(4096)))
                    .isInstanceOf(SnapshotException.class).hasMessageContaining("exists and is not a snapshot");
        }
        assertThat(Files.readString(dir.resolve("holiday.jpg"))).isEqualTo("precious");
        assertThatThrownBy(() -> SnapshotDirectory.readDocument(dir)).isInstanceOf(SnapshotException.class)
                .hasMessageContaining("is not a snapshot");
    }

    /** Blocks the file system allocated to {@code file}, in bytes, as stat(1) reports them. */
    static long allocatedBytes(Path file) throws IOException, InterruptedException {
        Process stat = new ProcessBuilder("stat", "--format=%b %B", file.toString()).start();
        String[] out = new String(stat.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim().split(" ");
        assertThat(stat.waitFor()).isZero();
        return Long.parseLong(out[0]) * Long.parseLong(out[1]);
    }
}
