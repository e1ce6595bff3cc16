package dev.hako.mgmt.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.vmm.image.Bundle;
import dev.hako.vmm.image.DebianImageFixture;
import dev.hako.vmm.image.disk.Qcow2Image;
import dev.hako.vmm.net.PasstBackend;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Debian system (the bundle {@link DebianImageFixture} builds, booted once, on the soft CPU) migrates between
 * two hako processes with its disk, a qcow2 overlay over the bundle's disk on shared storage, and user networking
 * with an ssh port forward. An ssh session counts (every 0.2 s a number, appended to a file and printed) through
 * passt. First a migration cut by the relay part-way through the pre-copy: the source answers 409 and goes on, the
 * session still counting, the disk still written. Then the real one to a {@code hako run --incoming} child: the
 * same ssh session carries on across the switch with no number lost or repeated (passt and its TCP flows were
 * handed to the child), a new ssh login reaches the child's guest through the same forwarded port, the counted
 * file holds every number once, a file written before the move keeps its checksum, and once the child's guest
 * powers off, Debian's qemu-img finds the overlay clean.
 */
class DebianMigrationIT {
    private static final String PATIENT_DEVICES = " systemd.default_timeout_start_sec=900";
    private static final long BOOT_SECONDS = 600;

    @TempDir
    Path work;

    @Test
    void theDebianSystemMovesWithItsDiskAndItsSshSession() throws Exception {
        Assumptions.assumeTrue(PasstBackend.installed(), "user networking needs passt (apt-get install passt)");
        DebianImageFixture.Image image = DebianImageFixture.image();
        Bundle bundle = image.bundle();
        Path overlay = work.resolve("overlay.qcow2");  // the cached bundle's disk stays as it is, read-only below
        Qcow2Image.create(overlay, 0, 16, bundle.diskFile().toAbsolutePath().toString(), bundle.disk().format())
                .close();
        int port = freePort();
        Ssh ssh = new Ssh(image.privateKey(), port);
        long seed = System.nanoTime();
        System.out.println("DebianMigrationIT seed " + seed);

        try (ApiFixture api = new ApiFixture(work.resolve("state"))) {
            String definition = String.format("{\"kernel\": \"%s\", \"initrd\": \"%s\", \"cmdline\": \"%s\", "
                    + "\"memory_mib\": %d, \"vcpus\": %d, \"accel\": \"soft\", "
                    + "\"disks\": [{\"path\": \"%s\", \"format\": \"qcow2\"}], "
                    + "\"nets\": [{\"type\": \"user\", \"hostfwd\": [\"tcp:127.0.0.1:%d-:22\"]}]}",
                    bundle.kernelFile(), bundle.initrdFile(), bundle.cmdline() + PATIENT_DEVICES,
                    bundle.memoryMiB(), bundle.cpus(), overlay, port);
            assertThat(api.unix("PUT", "/vms/debian", definition).status()).isEqualTo(201);
            assertThat(api.unix("POST", "/vms/debian/start", null).status()).isEqualTo(200);
            long start = System.nanoTime();
            ssh.awaitLogin(BOOT_SECONDS);
            System.out.printf("DebianMigrationIT: ssh login after %.1f s%n", (System.nanoTime() - start) / 1e9);
            String written = ssh.run("head -c 4194304 /dev/urandom > /root/moved && sync && sha256sum /root/moved");
            assertThat(written).startsWith("0:");
            String digest = written.substring(2, 66);

            try (Ssh.Session session = ssh.open("i=0; while sleep 0.2; do i=$((i+1)); echo $i >> /root/counted; "
                    + "echo $i; done")) {
                session.awaitCount(n -> n >= 5, 60);

                long cutAt = (1 << 20) + (long) (new Random(seed).nextDouble() * (32 << 20));
                IncomingDestination cutOne = IncomingDestination.start();
                try (MigrationRelay relay = new MigrationRelay(cutOne, cutAt, 'L', true)) {
                    ApiFixture.Answer failed = api.unix("POST", "/vms/debian/migrate",
                            "{\"to\": \"127.0.0.1:" + relay.port() + "\"}");
                    assertThat(failed.status()).as(failed.body()).isEqualTo(409);
                    assertThat(failed.json().path("message").asText()).contains("the guest runs on here");
                    assertThat(relay.killed).isTrue();
                } finally {
                    cutOne.kill();
                }
                assertThat(api.unix("GET", "/vms/debian", null).json().path("state").asText()).isEqualTo("running");
                int afterCut = session.last();
                session.awaitCount(n -> n >= afterCut + 5, 60);
                assertThat(ssh.run("echo cut-at-" + cutAt + " > /root/probe && sync && cat /root/probe"))
                        .as("the source's disk after the cut").isEqualTo("0:cut-at-" + cutAt + "\n");
                System.out.printf("DebianMigrationIT: a migration cut after %d bytes left the source running%n", cutAt);

                IncomingDestination destination = IncomingDestination.start();
                try {
                    ApiFixture.Answer moved = api.unix("POST", "/vms/debian/migrate",
                            "{\"to\": \"127.0.0.1:" + destination.port + "\"}");
                    assertThat(moved.status()).as(moved.body() + "\n" + destination.err).isEqualTo(200);
                    assertThat(moved.json().path("state").asText()).isEqualTo("stopped");
                    System.out.printf("DebianMigrationIT: the Debian system migrated: %s%n",
                            moved.json().path("migration"));
                    destination.err.toString().lines().filter(l -> l.startsWith("hako: the migrated state"))
                            .forEach(l -> System.out.println("DebianMigrationIT: the destination: " + l));
                    int atSwitch = session.last();
                    session.awaitCount(n -> n >= atSwitch + 20, 120);
                    session.assertEveryNumberOnce();

                    assertThat(ssh.run("hostname; sha256sum /root/moved")).as("a new login, at the destination")
                            .isEqualTo("0:hako\n" + digest + "  /root/moved\n");
                    int counted = session.last();
                    session.close();  // the guest's loop ends with the connection; the file stops growing
                    Thread.sleep(1000);
                    String file = ssh.run("sha256sum /root/counted; cat /root/counted");
                    assertThat(file).startsWith("0:");
                    List<String> lines = file.substring(2).lines().toList();
                    String content = file.substring(2 + lines.getFirst().length() + 1);
                    assertThat(lines.getFirst()).as("the counted file's checksum in the guest")
                            .isEqualTo(sha256(content) + "  /root/counted");
                    List<Integer> numbers = lines.subList(1, lines.size()).stream().map(Integer::parseInt).toList();
                    assertThat(numbers.size()).isGreaterThanOrEqualTo(counted);
                    for (int i = 0; i < numbers.size(); i++) {
                        assertThat(numbers.get(i)).as("line %d of /root/counted", i).isEqualTo(i + 1);
                    }

                    ssh.run("systemctl poweroff");
                    assertThat(destination.process.waitFor(5, TimeUnit.MINUTES)).as(destination.err.toString())
                            .isTrue();
                    assertThat(destination.process.exitValue()).as(destination.err.toString()).isZero();
                    assertThat(destination.err.toString()).contains("the migrated guest runs here")
                            .doesNotContain("Exception");
                } finally {
                    destination.kill();
                }
            }
        }
        assertThat(qemuImg("check", "-f", "qcow2", overlay.toString())).contains("No errors were found");
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static String sha256(String text) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(text.getBytes(StandardCharsets.US_ASCII)));
    }

    private static String qemuImg(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("qemu-img"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    /** The host's ssh into the guest through the forwarded port, with the image's test key. */
    private record Ssh(Path key, int port) {
        private List<String> command(String remote) {
            return List.of("ssh", "-p", String.valueOf(port), "-i", key.toString(), "-o", "StrictHostKeyChecking=no",
                    "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=60",
                    "-o", "LogLevel=ERROR", "root@127.0.0.1", remote);
        }

        /** "status:output". */
        String run(String remote) throws Exception {
            Process p = new ProcessBuilder(command(remote)).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                return "timeout:" + out;
            }
            return p.exitValue() + ":" + out;
        }

        void awaitLogin(long seconds) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            String answer = "";
            while (System.nanoTime() < deadline && !(answer = run("echo ssh-$((6*7))")).startsWith("0:")) {
                Thread.sleep(2000);
            }
            assertThat(answer).as("ssh root@127.0.0.1 -p %d", port).isEqualTo("0:ssh-42\n");
        }

        Session open(String remote) throws Exception {
            return new Session(new ProcessBuilder(command(remote)).redirectErrorStream(true).start());
        }

        /** One ssh connection whose command prints numbers, one a line, kept as they come. */
        static final class Session implements AutoCloseable {
            private final Process process;
            private final List<String> lines = new CopyOnWriteArrayList<>();

            Session(Process process) {
                this.process = process;
                Thread.ofPlatform().daemon().start(() -> {
                    try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                            StandardCharsets.UTF_8))) {
                        for (String line; (line = in.readLine()) != null; ) {
                            lines.add(line);
                        }
                    } catch (Exception e) {
                        lines.add("session ended: " + e);
                    }
                });
            }

            int last() {
                return lines.isEmpty() ? 0 : Integer.parseInt(lines.getLast());
            }

            void awaitCount(IntPredicate reached, long seconds) throws Exception {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
                while (System.nanoTime() < deadline && process.isAlive()
                        && (lines.isEmpty() || !reached.test(last()))) {
                    Thread.sleep(50);
                }
                assertThat(!lines.isEmpty() && reached.test(last())).as("the ssh session's count: %s (alive: %s)",
                        lines, process.isAlive()).isTrue();
            }

            /** Every number from 1 on, once and in order: nothing lost or repeated across the switch. */
            void assertEveryNumberOnce() {
                for (int i = 0; i < lines.size(); i++) {
                    assertThat(lines.get(i)).as("line %d of the ssh session: %s", i, lines)
                            .isEqualTo(String.valueOf(i + 1));
                }
            }

            @Override
            public void close() {
                process.destroyForcibly();
            }
        }
    }
}
