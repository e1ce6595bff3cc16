package dev.hako.vmm.image.disk;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Crash safety, tested by crashing: a child JVM ({@link CrashWriter}) writes randomly to a qcow2 image and is
 * SIGKILLed, several times over on the same image: at a random moment, or exactly on one of its pwrite64 calls
 * (strace fault injection), which lands kills inside metadata updates. After each kill qemu-img check must find
 * no corruption (leaked clusters are allowed), and every byte that no operation after the last completed flush
 * touched must read back as the model says, through qemu-img and through hako. The images have small clusters,
 * so refcount blocks are created and the refcount table moves while the writer runs. (A kill leaves the page
 * cache intact, so this proves the order of the writes; the fdatasync barriers between them are what extends
 * that order to a power cut.)
 */
class Qcow2CrashTest {
    private static final long SIZE = 16 << 20;
    private static final int KILLS = 4;

    @TempDir
    Path dir;

    /** How the writer is stopped. */
    enum Stop { AT_A_RANDOM_MOMENT, ON_A_CHOSEN_WRITE, BY_A_FULL_DISK }

    @ParameterizedTest
    @ValueSource(strings = {"cluster_size=512,refcount_bits=64", "compat=0.10,cluster_size=1024", "overlay"})
    void writersKilledAtRandomMomentsLeaveConsistentImages(String options) throws Exception {
        stopRepeatedly(options, Stop.AT_A_RANDOM_MOMENT);
    }

    /**
     * The kill lands exactly on one of the writer's pwrite64 calls (strace's syscall fault injection), chosen at
     * random: every step of a metadata update gets hit, not only the long stretches between them.
     */
    @ParameterizedTest
    @ValueSource(strings = {"cluster_size=512,refcount_bits=64", "cluster_size=4096", "overlay"})
    void writersKilledInTheMiddleOfAnUpdateLeaveConsistentImages(String options) throws Exception {
        try {
            new ProcessBuilder("strace", "-V").redirectErrorStream(true).start().waitFor();
        } catch (IOException e) {
            Assumptions.abort("strace is not installed: no syscall fault injection");
        }
        stopRepeatedly(options, Stop.ON_A_CHOSEN_WRITE);
    }

    /**
     * A file size limit (RLIMIT_FSIZE) makes a write fail half-way through an update, as a full disk would: the
     * writer gets an IOException, its next flush is refused, and what is on disk stays consistent.
     */
    @ParameterizedTest
    @ValueSource(strings = {"cluster_size=512,refcount_bits=64", "overlay"})
    void writersThatRunOutOfSpaceLeaveConsistentImages(String options) throws Exception {
        stopRepeatedly(options, Stop.BY_A_FULL_DISK);
    }

    private void stopRepeatedly(String options, Stop stop) throws Exception {
        Path image = dir.resolve("crash.qcow2");
        long clusterSize;
        if (options.equals("overlay")) {
            byte[] base = new byte[(int) SIZE];
            new Random(9).nextBytes(base);
            Files.write(dir.resolve("base.raw"), base);
            QemuTools.img("create", "-q", "-f", "qcow2", "-o", "cluster_size=2048", "-b", "base.raw", "-F", "raw",
                    image.toString());
            clusterSize = 2048;
        } else {
            QemuTools.img("create", "-q", "-f", "qcow2", "-o", options, image.toString(), Long.toString(SIZE));
            clusterSize = Long.parseLong(options.replaceAll(".*cluster_size=(\\d+).*", "$1"));
        }
        Random random = new Random(options.hashCode());
        byte[] model = QemuTools.contents(image, dir);
        for (int kill = 0; kill < KILLS; kill++) {
            long seed = random.nextLong();
            Path log = dir.resolve("log-" + kill);
            int limit = switch (stop) {
                case AT_A_RANDOM_MOMENT -> 0;
                case ON_A_CHOSEN_WRITE -> 1 + random.nextInt(3000);
                case BY_A_FULL_DISK -> (int) (Files.size(image) / 1024) + 64 + random.nextInt(1024);
            };
            Process writer = startWriter(image, seed, log, stop, limit);
            if (stop == Stop.AT_A_RANDOM_MOMENT) {
                waitForLine(log, "READY", writer);
                Thread.sleep(150 + random.nextInt(1200));
            } else {
                writer.waitFor(20, TimeUnit.SECONDS);
            }
            writer.descendants().forEach(ProcessHandle::destroyForcibly);
            writer.destroyForcibly();
            assertThat(writer.waitFor(30, TimeUnit.SECONDS)).isTrue();
            if (stop == Stop.BY_A_FULL_DISK) {
                String written = Files.readString(log);
                assertThat(written).contains("EFBIG").contains("R ").contains("writes refused");
            }

            List<String> lines = Files.exists(log) ? Files.readAllLines(log, StandardCharsets.UTF_8) : List.of();
            long lastFlush = -1;
            long lastBegun = -1;
            for (String line : lines) {
                if (line.startsWith("F ")) {
                    lastFlush = Long.parseLong(line.substring(2));
                } else if (line.startsWith("B ")) {
                    lastBegun = Long.parseLong(line.substring(2));
                }
            }
            if (stop == Stop.AT_A_RANDOM_MOMENT) {
                assertThat(lastFlush).as("the writer flushed at least once before it was killed").isPositive();
            }
            boolean[] uncertain = new boolean[(int) SIZE];
            for (long i = 0; i <= lastBegun; i++) {
                CrashWriter.Op op = CrashWriter.Op.of(seed, i, SIZE);
                if (i <= lastFlush) {
                    op.apply(model, clusterSize);
                } else {
                    Arrays.fill(uncertain, (int) op.offset(), (int) op.offset() + op.length(), true);
                }
            }

            QemuTools.check(image, true);
            byte[] actual = QemuTools.contents(image, dir);
            assertFlushedBytes(actual, model, uncertain, "qemu-img, after kill " + kill);
            try (DiskImage disk = DiskImages.open(image, DiskFormat.QCOW2, true)) {
                assertFlushedBytes(QemuMadeImagesTest.readAll(disk), model, uncertain, "hako, after kill " + kill);
            }
            model = actual;
        }
    }

    private static void assertFlushedBytes(byte[] actual, byte[] model, boolean[] uncertain, String reader) {
        assertThat(actual.length).isEqualTo(model.length);
        for (int i = 0; i < model.length; i++) {
            if (!uncertain[i] && actual[i] != model[i]) {
                throw new AssertionError(reader + ": byte " + i + " is " + actual[i] + ", but " + model[i]
                        + " was flushed there");
            }
        }
    }

    /**
     * The writer, stopped by {@code stop}: strace kills it on entering its {@code limit}-th pwrite64, or its files
     * may not grow past {@code limit} KiB.
     */
    private static Process startWriter(Path image, long seed, Path log, Stop stop, int limit) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>();
        if (stop == Stop.ON_A_CHOSEN_WRITE) {
            command.addAll(List.of("strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=pwrite64",
                    "-e", "inject=pwrite64:signal=KILL:when=" + limit));
        } else if (stop == Stop.BY_A_FULL_DISK) {
            command.addAll(List.of("bash", "-c", "ulimit -f " + limit + " && exec \"$0\" \"$@\""));
        }
        command.addAll(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xshare:auto",
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                CrashWriter.class.getName(), image.toString(), Long.toString(seed), log.toString()));
        return new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(log.resolveSibling(log.getFileName() + ".out").toFile()).start();
    }

    private static void waitForLine(Path log, String line, Process writer) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (Files.exists(log) && Files.readString(log).contains(line)) {
                return;
            }
            if (!writer.isAlive()) {
                throw new AssertionError("the writer died: "
                        + Files.readString(log.resolveSibling(log.getFileName() + ".out")));
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the writer did not start");
    }
}
