package dev.hako.mgmt.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.mgmt.cli.CliResult;
import dev.hako.mgmt.cli.HakoProcess;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Live migration between two hako processes: the default busybox guest on the soft CPU counts on its serial
 * console (C1, C2, ... every 0.2 s) in a server. First the migration is cut again and again: a relay between the
 * source and a {@code hako run --incoming} child JVM kills the child once a random number of the stream's bytes
 * went through (five times); and at the last moment before the switch, when the child says it loaded the machine
 * (its LOADED held back by the relay), the relay only closes the connection, and the child, never told to go on,
 * exits 74 with its guest never run. Each time {@code POST /vms/NAME/migrate} answers 409 and the guest counts on in
 * the server. Then the child is killed after the switch, when it acknowledges that its guest runs (its
 * RESUMED held back): the server cannot know where the guest runs, so it keeps it paused ({@code hako vm migrate}
 * exits 76 with the one line, the VM's state is paused with its reason) and the count stands still, until an
 * explicit resume lets it count on. Then the migration
 * goes through: the VM stops in the server, the child carries on counting, every value exactly once across the two
 * processes, and the source reports its total time and a downtime above zero.
 */
class MigrationIT {
    private static final int RANDOM_CUTS = 5;

    @TempDir
    Path state;

    @Test
    void aCountingGuestMovesToAnotherProcessAndSurvivesEveryCutBeforeTheSwitch() throws Exception {
        long seed = System.nanoTime();
        System.out.println("MigrationIT seed " + seed);
        Random random = new Random(seed);
        try (ApiFixture api = new ApiFixture(state)) {
            CountingGuest.Started counting = CountingGuest.start(api, "counter", 5);
            try (ConsoleViewer console = counting.console()) {
                int from = counting.from();

                long fullStream = cutBeforeGo(api, console);
                assertThat(fullStream).as("bytes of a whole migration").isGreaterThan(1 << 20);
                for (int cut = 0; cut < RANDOM_CUTS; cut++) {
                    long at = (long) (random.nextDouble() * fullStream * 0.95);
                    cutMigration(api, console, at, "after " + at + " of " + fullStream + " bytes");
                }
                cutAfterTheSwitch(api, console);

                IncomingDestination destination = IncomingDestination.start();
                try {
                    ApiFixture.Answer moved = api.unix("POST", "/vms/counter/migrate",
                            "{\"to\": \"127.0.0.1:" + destination.port + "\"}");
                    assertThat(moved.status()).as(moved.body()).isEqualTo(200);
                    assertThat(moved.json().path("state").asText()).isEqualTo("stopped");
                    assertThat(moved.json().path("exit_reason").asText()).contains("migrated to 127.0.0.1:");
                    double total = moved.json().path("migration").path("total_ms").asDouble();
                    double downtime = moved.json().path("migration").path("downtime_ms").asDouble();
                    System.out.printf("migration of the counting 128 MiB guest: %.1f ms in all, %.1f ms of downtime, "
                            + "%s%n", total, downtime, moved.json().path("migration"));
                    assertThat(downtime).as("downtime").isPositive().isLessThanOrEqualTo(total);
                    assertThat(api.log()).contains("hako: VM counter migrated to 127.0.0.1:" + destination.port);
                    Thread.sleep(200); // the console hub passes on what the guest wrote before the pause every 20 ms
                    String before = console.output();
                    int last = CountingGuest.lastCount(before);
                    String target = "C" + (last + 10);
                    destination.awaitOutput(Pattern.compile(target + "\\r?\\n"), 60);
                    ApiFixture.Answer gone = api.unix("GET", "/vms/counter", null);
                    assertThat(gone.json().path("state").asText()).as("the source VM").isEqualTo("stopped");
                    assertThat(CountingGuest.lastCount(console.output())).as("the source's count after the switch").isEqualTo(last);
                    CountingGuest.assertEveryCountOnce(before.substring(from) + destination.out,
                            "the count across the migration");
                    System.out.println(destination.err);
                    assertThat(destination.err.toString()).contains("the migrated guest runs here")
                            .doesNotContain("Exception");
                } finally {
                    destination.kill();
                }
            }
        }
    }

    /**
     * Cuts the connection when the destination says LOADED, without killing it: the source, not having said GO,
     * counts on, and the destination, its guest never run, closes its machine and exits 74 with one line. Returns the
     * bytes that went to the destination.
     */
    private static long cutBeforeGo(ApiFixture api, ConsoleViewer console) throws Exception {
        IncomingDestination destination = IncomingDestination.start();
        try (MigrationRelay relay = new MigrationRelay(destination, Long.MAX_VALUE, 'L', false)) {
            ApiFixture.Answer failed = migrateThrough(api, relay);
            assertThat(failed.status()).as(failed.body()).isEqualTo(409);
            assertThat(failed.json().path("message").asText()).contains("the guest runs on here");
            assertThat(relay.connectionCut).isTrue();
            assertThat(destination.process.waitFor(30, TimeUnit.SECONDS)).as("the destination ended").isTrue();
            assertThat(destination.process.exitValue()).as("its status; it said: %s", destination.err).isEqualTo(74);
            assertThat(destination.err.toString()).contains("instead of the go-ahead; the guest did not run here")
                    .doesNotContain("the migrated guest runs here").doesNotContain("Exception");
            assertThat(api.unix("GET", "/vms/counter", null).json().path("state").asText()).isEqualTo("running");
            int last = CountingGuest.lastCount(console.output());
            console.await(Pattern.compile("C" + (last + 2) + "\\r?\\n"), 0, 30);
            System.out.printf("cut at LOADED: the source answered \"%s\" and counts on; the destination said "
                    + "\"%s\"%n", failed.json().path("message").asText(), destination.err.toString().lines()
                    .filter(l -> l.contains("go-ahead")).findFirst().orElse(""));
            return relay.forwarded.get();
        } finally {
            destination.kill();
        }
    }

    /**
     * Starts a migration through a relay that kills the destination once {@code cutAt} bytes went to it; checks
     * that the source says the migration failed and counts on. Returns the bytes that went to the destination.
     */
    private static long cutMigration(ApiFixture api, ConsoleViewer console, long cutAt, String when)
            throws Exception {
        IncomingDestination destination = IncomingDestination.start();
        try (MigrationRelay relay = new MigrationRelay(destination, cutAt, 'L', true)) {
            ApiFixture.Answer failed = migrateThrough(api, relay);
            assertThat(failed.status()).as("a migration cut %s: %s", when, failed.body()).isEqualTo(409);
            assertThat(failed.json().path("message").asText()).contains("the guest runs on here");
            assertThat(relay.killed).as("the relay killed the destination %s", when).isTrue();
            ApiFixture.Answer status = api.unix("GET", "/vms/counter", null);
            assertThat(status.json().path("state").asText()).as("the source VM after a cut %s", when)
                    .isEqualTo("running");
            int last = CountingGuest.lastCount(console.output());
            console.await(Pattern.compile("C" + (last + 2) + "\\r?\\n"), 0, 30);
            System.out.printf("cut %s: the source answered \"%s\" and counts on%n", when,
                    failed.json().path("message").asText());
            return relay.forwarded.get();
        } finally {
            destination.kill();
        }
    }

    /**
     * Kills the destination when it acknowledges that its guest runs: the source had said GO, so it keeps its
     * guest paused and says so; once the destination is gone, an explicit resume lets it count on.
     */
    private static void cutAfterTheSwitch(ApiFixture api, ConsoleViewer console) throws Exception {
        IncomingDestination destination = IncomingDestination.start();
        try (MigrationRelay relay = new MigrationRelay(destination, Long.MAX_VALUE, 'G', true)) {
            CliResult unknown = HakoProcess.run(HakoProcess.command(List.of(), "vm", "migrate", "counter", "--to",
                    "127.0.0.1:" + relay.port(), "--socket", api.socket.toString()), new byte[0], 120);
            assertThat(unknown.status()).as("hako vm migrate's status: %s", unknown.err()).isEqualTo(76);
            assertThat(unknown.err().strip()).contains("outcome unknown after the switch")
                    .contains("the guest stays paused here").contains("hako vm resume counter")
                    .doesNotContain("\n");
            assertThat(relay.killed).isTrue();
            ApiFixture.Answer status = api.unix("GET", "/vms/counter", null);
            assertThat(status.json().path("state").asText()).as("the source VM after a cut after GO")
                    .isEqualTo("paused");
            assertThat(status.json().path("paused_reason").asText()).contains("unknown outcome");
            ApiFixture.Answer refused = api.unix("POST", "/vms/counter/migrate", "{\"to\": \"127.0.0.1:"
                    + relay.port() + "\"}");
            assertThat(refused.status()).isEqualTo(409);
            assertThat(refused.json().path("message").asText()).contains("unknown outcome");
            Thread.sleep(200); // what the guest wrote before the pause reaches the viewer
            int last = CountingGuest.lastCount(console.output());
            Thread.sleep(2000);
            assertThat(CountingGuest.lastCount(console.output())).as("the paused source's count after 2 s")
                    .isEqualTo(last);
            destination.process.waitFor(10, TimeUnit.SECONDS);
            ApiFixture.Answer resumed = api.unix("POST", "/vms/counter/resume", null);
            assertThat(resumed.status()).as(resumed.body()).isEqualTo(200);
            assertThat(resumed.json().path("state").asText()).isEqualTo("running");
            assertThat(resumed.json().has("paused_reason")).isFalse();
            console.await(Pattern.compile("C" + (last + 2) + "\\r?\\n"), 0, 30);
            System.out.printf("cut after GO: hako vm migrate said \"%s\", the guest stood still, and counts on "
                    + "once resumed%n", unknown.err().strip());
        } finally {
            destination.kill();
        }
    }

    private static ApiFixture.Answer migrateThrough(ApiFixture api, MigrationRelay relay) throws Exception {
        CompletableFuture<ApiFixture.Answer> answer = CompletableFuture.supplyAsync(() -> {
            try {
                return api.unix("POST", "/vms/counter/migrate", "{\"to\": \"127.0.0.1:" + relay.port() + "\"}");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        return answer.get(120, TimeUnit.SECONDS);
    }
}
