package dev.hako.mgmt.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.mgmt.cli.HakoProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A running guest snapshotted through the API and resumed in a new process: the default busybox guest on the soft
 * CPU counts on its serial console (C1, C2, ... every 0.2 s); {@code POST /vms/NAME/snapshot} with stop writes it
 * and leaves it paused, the VM is stopped, and {@code hako run --restore DIR} in a new JVM carries on counting: every
 * value exactly once across the two processes. Then the same snapshot marked as a newer format is refused by
 * {@code hako run --restore} in one line, and a restore's bad input through the API is a 400.
 */
class SnapshotRestoreIT {

    @TempDir
    Path state;

    @Test
    void aCountingGuestCarriesOnInANewProcessWithNoValueLostOrRepeated() throws Exception {
        Path snapshot = state.resolve("snap");
        String before;
        try (ApiFixture api = new ApiFixture(state)) {
            CountingGuest.Started counting = CountingGuest.start(api, "counter", 8);
            try (ConsoleViewer console = counting.console()) {
                ApiFixture.Answer relative = api.unix("POST", "/vms/counter/snapshot", "{\"dir\": \"snap\"}");
                assertThat(relative.status()).as(relative.body()).isEqualTo(400);
                assertThat(relative.json().path("field").asText()).isEqualTo("dir");

                ApiFixture.Answer taken = api.unix("POST", "/vms/counter/snapshot",
                        "{\"dir\": \"" + snapshot + "\", \"stop\": true}");
                assertThat(taken.status()).as(taken.body()).isEqualTo(200);
                assertThat(taken.json().path("state").asText()).isEqualTo("paused");
                Thread.sleep(200); // the console hub passes on what the guest wrote before the pause every 20 ms
                before = console.output();
                assertThat(api.unix("POST", "/vms/counter/stop", null).status()).isEqualTo(200);
            }
            ApiFixture.Answer notASnapshot = api.unix("POST", "/vms/counter/restore",
                    "{\"dir\": \"" + state + "\"}");
            assertThat(notASnapshot.status()).as(notASnapshot.body()).isEqualTo(400);
            assertThat(notASnapshot.json().path("message").asText()).contains("is not a snapshot");
        }
        assertThat(Files.size(snapshot.resolve("memory"))).isEqualTo(128L << 20);
        long allocated = allocatedBytes(snapshot.resolve("memory"));
        System.out.printf("memory file of the 128 MiB guest: %.1f MiB allocated%n", allocated / 1048576.0);
        assertThat(allocated).as("the memory file is sparse").isLessThan(96L << 20);

        int last = CountingGuest.lastCount(before);
        ProcessBuilder builder = new ProcessBuilder(HakoProcess.command(List.of(), "run", "--restore",
                snapshot.toString()));
        builder.environment().put("LC_ALL", "C.UTF-8");
        builder.environment().put("HAKO_DEBUG", "1");
        Process hako = builder.start();
        StringBuffer out = new StringBuffer(), err = new StringBuffer();
        HakoProcess.collect(hako.getInputStream(), out);
        HakoProcess.collect(hako.getErrorStream(), err);
        try {
            String target = "C" + (last + 10);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!out.toString().contains(target + "\n") && !out.toString().contains(target + "\r\n")
                    && hako.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(out.toString()).as("the restored guest counts on from C%d; hako said: %s", last, err)
                    .containsPattern(target + "\\r?\\n");
        } finally {
            hako.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        CountingGuest.assertEveryCountOnce(before + out, "the count across the snapshot");
        Matcher restored = Pattern.compile("hako: restored \\S+ in ([0-9.]+) ms").matcher(err);
        assertThat(restored.find()).as("the restore time is reported; hako said: %s", err).isTrue();
        System.out.println(err.toString().lines().filter(l -> l.contains("hako: restored")).findFirst().orElse(""));
        assertThat(err.toString()).doesNotContain("Exception");

        Path newer = state.resolve("newer");
        Files.createDirectory(newer);
        Files.copy(snapshot.resolve("memory"), newer.resolve("memory"));
        Files.writeString(newer.resolve("machine.json"), Files.readString(snapshot.resolve("machine.json"))
                .replaceFirst("\"format\" ?: ?2", "\"format\": 3"));
        HakoProcess.run(HakoProcess.command(List.of(), "run", "--restore", newer.toString()), new byte[0], 60)
                .refusedWith(64, "newer than this hako reads");
    }

    /** Blocks the file system allocated to {@code file}, in bytes, as stat(1) reports them. */
    private static long allocatedBytes(Path file) throws IOException, InterruptedException {
        Process stat = new ProcessBuilder("stat", "--format=%b %B", file.toString()).start();
        String[] out = new String(stat.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim().split(" ");
        assertThat(stat.waitFor()).isZero();
        return Long.parseLong(out[0]) * Long.parseLong(out[1]);
    }
}
