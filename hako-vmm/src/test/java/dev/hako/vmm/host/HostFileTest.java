package dev.hako.vmm.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.RandomAccessFile;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files the user names: what each kind of wrong file is called, and whole-or-nothing writes. */
class HostFileTest {
    @TempDir
    Path dir;

    @Test
    void readsARegularFileWhole() throws Exception {
        Path file = Files.write(dir.resolve("f"), new byte[] {1, 2, 3});
        assertThat(HostFile.read(file, "initrd", 10, "ten bytes")).containsExactly(1, 2, 3);
    }

    @Test
    void namesWhatAPathIsWhenItIsNotAFile() throws Exception {
        Path fifo = dir.resolve("fifo");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        Path socket = dir.resolve("socket");
        try (ServerSocketChannel server = ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            assertThat(HostFile.kind(socket)).isEqualTo("a socket");
        }
        assertThat(HostFile.kind(dir)).isEqualTo("a directory");
        assertThat(HostFile.kind(Path.of("/dev/null"))).isEqualTo("a character device");
        assertThat(HostFile.kind(fifo)).isEqualTo("a FIFO");
        assertThatThrownBy(() -> HostFile.read(fifo, "initrd", 1 << 20, "1 MiB"))
                .hasMessage("initrd " + fifo + " is a FIFO, not a file");
    }

    @Test
    void missingFileSaysWhichDirectoryIsMissing() {
        Path missing = dir.resolve("no/such/file");
        assertThatThrownBy(() -> HostFile.read(missing, "--initrd", 1, "1 byte"))
                .isInstanceOf(UnusableFileException.class)
                .hasMessage("--initrd " + missing + ": no such file (no directory " + dir.resolve("no/such") + ")");
    }

    @Test
    void tooLargeIsRefusedFromItsSizeAlone() throws Exception {
        Path sparse = dir.resolve("sparse");
        try (RandomAccessFile file = new RandomAccessFile(sparse.toFile(), "rw")) {
            file.setLength(1L << 30);
        }
        long start = System.nanoTime();
        assertThatThrownBy(() -> HostFile.read(sparse, "initrd", 512L << 20, "the guest's 512 MiB of RAM"))
                .hasMessage("initrd " + sparse + " is 1 GiB, more than the guest's 512 MiB of RAM");
        try (RandomAccessFile file = new RandomAccessFile(sparse.toFile(), "rw")) {
            file.setLength(3L << 30);
        }
        assertThatThrownBy(() -> HostFile.read(sparse, "initrd", 4L << 30, "4 GiB"))
                .hasMessageContaining("is 3 GiB, more than the 2 GiB hako can load");
        assertThat(System.nanoTime() - start).as("nothing was read").isLessThan(1_000_000_000L);
    }

    @Test
    void anOutputMustBeAFileInAnExistingDirectory() throws Exception {
        assertThatThrownBy(() -> HostFile.requireWritable(dir, "OUTPUT"))
                .hasMessage("OUTPUT " + dir + " is a directory; name a file to write");
        assertThatThrownBy(() -> HostFile.requireWritable(dir.resolve("a/b"), "OUTPUT"))
                .hasMessage("OUTPUT " + dir.resolve("a/b") + ": no directory " + dir.resolve("a"));
        HostFile.requireWritable(dir.resolve("new"), "OUTPUT");
    }

    @Test
    void atomicWritesLeaveOneWholeFileAndNoTemporaries() throws Exception {
        Path target = dir.resolve("entry");
        byte[] data = new byte[4 << 20];
        new java.util.Random(1).nextBytes(data);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> writers = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                writers.add(pool.submit(() -> {
                    HostFile.writeAtomically(target, data);
                    assertThat(Files.readAllBytes(target)).isEqualTo(data); // never half a file
                    return null;
                }));
            }
            for (Future<?> f : writers) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly("entry");
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(target))).isEqualTo("rw-r--r--");
    }

    @Test
    void sizesForPeople() {
        assertThat(HostFile.human(17)).isEqualTo("17 bytes");
        assertThat(HostFile.human(5L << 20)).isEqualTo("5 MiB");
        assertThat(HostFile.human(3L << 30)).isEqualTo("3 GiB");
    }
}
