package dev.hako.mgmt.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.mgmt.cli.HakoProcess;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Live migration between two hako processes: the default busybox guest on the soft CPU counts on its serial
 * console (C1, C2, ... every 0.2 s) in a server. First the migration is cut again and again: a relay between the
 * source and a {@code hako run --incoming} child JVM kills the child once a random number of the stream's bytes
 * went through (five times), and once at the last moment, when the child acknowledges that its guest runs (its
 * RESUMED held back by the relay); each time {@code POST /vms/NAME/migrate} answers 409 and the guest counts on in
 * the server. Then the migration goes through: the VM stops in the server, the child carries on counting, every
 * value exactly once across the two processes, and the source reports its total time and a downtime above zero.
 */
class MigrationIT {
    private static final Pattern LISTENING = Pattern.compile("waiting for a migration on 127\\.0\\.0\\.1:(\\d+)");
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

                long fullStream = cutMigration(api, console, Long.MAX_VALUE, "when the destination's guest runs");
                assertThat(fullStream).as("bytes of a whole migration").isGreaterThan(1 << 20);
                for (int cut = 0; cut < RANDOM_CUTS; cut++) {
                    long at = (long) (random.nextDouble() * fullStream * 0.95);
                    cutMigration(api, console, at, "after " + at + " of " + fullStream + " bytes");
                }

                Destination destination = Destination.start();
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
     * Starts a migration through a relay that kills the destination once {@code cutAt} bytes went to it (or, at
     * {@code Long.MAX_VALUE}, when the destination acknowledges that its guest runs); checks that the source says
     * the migration failed and counts on. Returns the bytes that went to the destination.
     */
    private static long cutMigration(ApiFixture api, ConsoleViewer console, long cutAt, String when)
            throws Exception {
        Destination destination = Destination.start();
        try (Relay relay = new Relay(destination, cutAt)) {
            CompletableFuture<ApiFixture.Answer> answer = CompletableFuture.supplyAsync(() -> {
                try {
                    return api.unix("POST", "/vms/counter/migrate", "{\"to\": \"127.0.0.1:" + relay.port() + "\"}");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            ApiFixture.Answer failed = answer.get(120, TimeUnit.SECONDS);
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

    /** {@code hako run --incoming tcp:127.0.0.1:0} in a child JVM, listening. */
    private static final class Destination {
        final Process process;
        final StringBuffer out = new StringBuffer(), err = new StringBuffer();
        int port;

        private Destination(Process process) {
            this.process = process;
        }

        static Destination start() throws Exception {
            ProcessBuilder builder = new ProcessBuilder(HakoProcess.command(List.of(), "run", "--incoming",
                    "tcp:127.0.0.1:0"));
            builder.environment().put("LC_ALL", "C.UTF-8");
            builder.environment().put("HAKO_DEBUG", "1");
            Destination d = new Destination(builder.start());
            HakoProcess.collect(d.process.getInputStream(), d.out);
            HakoProcess.collect(d.process.getErrorStream(), d.err);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline) {
                Matcher m = LISTENING.matcher(d.err);
                if (m.find()) {
                    d.port = Integer.parseInt(m.group(1));
                    return d;
                }
                if (!d.process.isAlive()) {
                    break;
                }
                Thread.sleep(20);
            }
            d.kill();
            throw new AssertionError("hako run --incoming did not listen; it said: " + d.err);
        }

        void awaitOutput(Pattern pattern, long seconds) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (!pattern.matcher(out).find() && process.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(out.toString()).as("the destination's console; hako said: %s", err).containsPattern(pattern);
        }

        void kill() throws InterruptedException {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    /**
     * A TCP relay from the source to a destination that SIGKILLs the destination once {@code cutAt} bytes went to it
     * (before passing on more), or when the destination's RESUMED comes back (before passing it on).
     */
    private static final class Relay implements AutoCloseable {
        private final ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        private final Destination destination;
        private final long cutAt;
        final AtomicLong forwarded = new AtomicLong();
        volatile boolean killed;
        private final List<Socket> sockets = new ArrayList<>();

        Relay(Destination destination, long cutAt) throws IOException {
            this.destination = destination;
            this.cutAt = cutAt;
            Thread.ofVirtual().start(this::relay);
        }

        int port() {
            return listener.getLocalPort();
        }

        private void relay() {
            try {
                Socket source = listener.accept();
                Socket target = new Socket(InetAddress.getLoopbackAddress(), destination.port);
                synchronized (sockets) {
                    sockets.add(source);
                    sockets.add(target);
                }
                Thread back = Thread.ofVirtual().start(() -> pipeBack(target, source));
                pipeForward(source.getInputStream(), target.getOutputStream());
                back.join();
            } catch (IOException | InterruptedException e) {
                // a cut connection ends the relay
            } finally {
                closeSockets();
            }
        }

        private void pipeForward(InputStream from, OutputStream to) throws IOException, InterruptedException {
            byte[] buffer = new byte[65536];
            for (int n; (n = from.read(buffer)) > 0; ) {
                long done = forwarded.get();
                int pass = (int) Math.min(n, cutAt - done);
                to.write(buffer, 0, pass);
                forwarded.addAndGet(pass);
                if (pass < n || forwarded.get() == cutAt) {
                    cut();
                    return;
                }
            }
        }

        private void pipeBack(Socket target, Socket source) {
            try {
                InputStream from = target.getInputStream();
                OutputStream to = source.getOutputStream();
                for (int b; (b = from.read()) >= 0; ) {
                    if (b == 'G') {  // RESUMED: the destination's guest runs; the source must not learn it
                        cut();
                        return;
                    }
                    to.write(b);
                    to.flush();
                }
            } catch (IOException | InterruptedException e) {
                // cut
            } finally {
                closeSockets();
            }
        }

        private void cut() throws InterruptedException {
            if (!killed) {
                killed = true;
                destination.kill();
            }
            closeSockets();
        }

        private void closeSockets() {
            synchronized (sockets) {
                for (Socket s : sockets) {
                    try {
                        s.close();
                    } catch (IOException e) {
                        // closing is all
                    }
                }
            }
        }

        @Override
        public void close() throws IOException {
            listener.close();
            closeSockets();
        }
    }
}
