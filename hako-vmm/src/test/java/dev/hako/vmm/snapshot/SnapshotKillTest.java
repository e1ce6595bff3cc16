package dev.hako.vmm.snapshot;

import dev.hako.testkit.ChildJvm;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILL in the middle of writing snapshots, at random points, 24 times: a child JVM writes snapshot after snapshot
 * into one directory and is killed; each time the directory still holds one complete snapshot, a generation at
 * least as new as the last one seen, its memory file whole and matching its document.
 */
class SnapshotKillTest {
    private static final Pattern GENERATION = Pattern.compile("\\{\"generation\": (\\d+)}");
    private static final int KILLS = 24;

    @TempDir
    Path work;

    @Test
    void aKilledWriterLeavesThePreviousSnapshotWhole() throws Exception {
        Path dir = work.resolve("snap");
        try (Arena arena = Arena.ofConfined()) {
            SnapshotWriterLoop.write(dir, arena.allocate(SnapshotWriterLoop.RAM, 4096), 1);
        }
        Random random = new Random(Long.getLong("kill.seed", System.nanoTime()));
        int last = 1;
        List<Integer> seen = new ArrayList<>();
        for (int i = 0; i < KILLS; i++) {
            Process child = startWriter(dir, last + 1);
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.US_ASCII));
            assertThat(out.readLine()).as("the writer started").isEqualTo("ready");
            Thread.sleep(random.nextInt(600));
            child.destroyForcibly(); // SIGKILL
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
            int generation = checkWhole(dir);
            assertThat(generation).as("after kill %d", i).isGreaterThanOrEqualTo(last);
            last = generation;
            seen.add(generation);
        }
        assertThat(last).as("the writers completed snapshots between the kills (generations %s)", seen)
                .isGreaterThan(KILLS / 2);
        assertThat(seen.stream().distinct().count()).as("kills landed at different points: %s", seen)
                .isGreaterThan(KILLS / 3);
    }

    /** Checks {@code dir} holds one complete snapshot; returns its generation. */
    private static int checkWhole(Path dir) throws Exception {
        String document = new String(SnapshotDirectory.readDocument(dir), StandardCharsets.UTF_8);
        Matcher m = GENERATION.matcher(document);
        assertThat(m.matches()).as("document %s", document).isTrue();
        int generation = Integer.parseInt(m.group(1));
        byte[] memory = Files.readAllBytes(dir.resolve(SnapshotDirectory.MEMORY));
        assertThat((long) memory.length).isEqualTo(SnapshotWriterLoop.RAM);
        MemorySegment expected = MemorySegment.ofArray(new byte[memory.length]);
        for (long page = 0; page < SnapshotWriterLoop.RAM; page += 2 * SnapshotDirectory.PAGE) {
            expected.asSlice(page, SnapshotDirectory.PAGE).fill((byte) generation);
        }
        assertThat(expected.mismatch(MemorySegment.ofArray(memory))).as("memory of generation %d",
                generation).isEqualTo(-1);
        return generation;
    }

    private static Process startWriter(Path dir, int generation) throws Exception {
        String classPath = System.getProperty("surefire.test.class.path");
        if (classPath == null || classPath.isBlank()) {
            classPath = System.getProperty("java.class.path");
        }
        return new ProcessBuilder(ChildJvm.command("-XX:TieredStopAtLevel=1", "-cp", classPath,
                SnapshotWriterLoop.class.getName(), dir.toString(), Integer.toString(generation)))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }
}
