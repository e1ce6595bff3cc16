package dev.hako.mgmt.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.vmm.image.DefaultGuest;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The balloon live through the API, end to end: a default guest (Debian's kernel, busybox, and the kernel's
 * virtio-balloon driver its /init loads) with {@code balloon_mib} on the soft CPU; {@code PUT /vms/NAME/memory}
 * sets a target, and the guest's own /proc/meminfo, {@code GET /vms/NAME} and {@code /metrics} all see the balloon
 * reach it and give the memory back when the target returns to 0.
 */
class BalloonApiIT {
    private static final long BOOT_SECONDS = 300, BALLOON_SECONDS = 120;
    private static final long RAM_MIB = 256, TARGET_MIB = 96;

    @TempDir
    Path state;

    @Test
    void aBalloonTargetSetThroughTheApiTakesTheGuestsFreeMemoryAndGivesItBack() throws Exception {
        try (ApiFixture api = new ApiFixture(state)) {
            String definition = "{\"memory_mib\": " + RAM_MIB + ", \"accel\": \"soft\", \"balloon_mib\": 0}";
            assertThat(api.unix("PUT", "/vms/mem", definition).status()).isEqualTo(201);
            ApiFixture.Answer started = api.unix("POST", "/vms/mem/start", null);
            assertThat(started.status()).as(started.body()).isEqualTo(200);
            try (ConsoleViewer console = ConsoleViewer.open(api.overSocket, "mem")) {
                int from = console.await(Pattern.compile(Pattern.quote(DefaultGuest.BANNER)), 0, BOOT_SECONDS).end();
                console.await(Pattern.compile("built-in shell"), from, 60);
                assertThat(console.output()).doesNotContain("insmod");
                assertThat(guestBalloonDriver(console)).as("the guest bound its balloon driver").isTrue();

                long[] before = meminfo(console, "M1");
                assertThat(before[0]).as("MemTotal, kB").isGreaterThan((RAM_MIB - 40) << 10);
                assertThat(balloonBytes(api)).isZero();
                assertThat(memoryMetric(api)).isEqualTo(RAM_MIB << 20);

                ApiFixture.Answer set = api.unix("PUT", "/vms/mem/memory", "{\"balloon_target_mib\": " + TARGET_MIB + "}");
                assertThat(set.status()).as(set.body()).isEqualTo(200);
                awaitBalloon(api, TARGET_MIB << 20);
                long[] inflated = meminfo(console, "M2");
                assertThat(memoryMetric(api)).isEqualTo((RAM_MIB - TARGET_MIB) << 20);
                assertThat(api.unix("GET", "/vms/mem", null).json().path("usage").path("memory_bytes").asLong())
                        .isEqualTo((RAM_MIB - TARGET_MIB) << 20);
                long taken = before[1] - inflated[1];
                assertThat(taken).as("guest MemFree taken, kB (before %s, inflated %s)", before[1], inflated[1])
                        .isBetween((TARGET_MIB << 10) * 9 / 10, (TARGET_MIB << 10) * 11 / 10);

                assertThat(api.unix("PUT", "/vms/mem/memory", "{\"balloon_target_mib\": 0}").status()).isEqualTo(200);
                awaitBalloon(api, 0);
                long[] after = meminfo(console, "M3");
                assertThat(memoryMetric(api)).isEqualTo(RAM_MIB << 20);
                assertThat(after[1]).as("guest MemFree given back, kB (before %s)", before[1])
                        .isGreaterThan(before[1] - (TARGET_MIB << 10) / 10);
            }
            assertThat(api.unix("POST", "/vms/mem/stop", null).json().path("state").asText()).isEqualTo("stopped");
        }
    }

    /** True when the guest's virtio-balloon device (virtio 5) has a driver bound. */
    private static boolean guestBalloonDriver(ConsoleViewer console) throws InterruptedException {
        int from = console.length();
        console.type("for d in /sys/bus/virtio/devices/*; do [ \"$(cat $d/device)\" = 0x0005 ] && "
                + "echo BD=$(basename $(readlink $d/driver))=; done\n");
        return console.await(Pattern.compile("BD=(\\w+)="), from, 60).group(1).equals("virtio_balloon");
    }

    /** The guest's MemTotal and MemFree in kB, read with a marker so that the answer is told from the command. */
    private static long[] meminfo(ConsoleViewer console, String marker) throws InterruptedException {
        int from = console.length();
        console.type("awk '/^MemTotal:/ {t = $2} /^MemFree:/ {f = $2} END {print \"" + marker
                + "=\" t \"/\" f \"=\"}' /proc/meminfo\n");
        Matcher m = console.await(Pattern.compile(marker + "=(\\d+)/(\\d+)="), from, 60);
        return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
    }

    private static long balloonBytes(ApiFixture api) throws Exception {
        return api.unix("GET", "/vms/mem", null).json().path("usage").path("balloon_bytes").asLong(-1);
    }

    private static long memoryMetric(ApiFixture api) throws Exception {
        String metrics = api.unix("GET", "/metrics", null).body();
        Matcher m = Pattern.compile("(?m)^hako_vm_memory_bytes\\{vm=\"mem\"} (\\d+)$").matcher(metrics);
        assertThat(m.find()).as(metrics).isTrue();
        return Long.parseLong(m.group(1));
    }

    /** Waits, bounded, until the API reports the balloon at {@code bytes} as the guest's driver says it is. */
    private static void awaitBalloon(ApiFixture api, long bytes) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BALLOON_SECONDS);
        long seen;
        while ((seen = balloonBytes(api)) != bytes && System.nanoTime() < deadline) {
            TimeUnit.MILLISECONDS.sleep(200);
        }
        assertThat(seen).as("the balloon's actual size after %d s", BALLOON_SECONDS).isEqualTo(bytes);
    }
}
