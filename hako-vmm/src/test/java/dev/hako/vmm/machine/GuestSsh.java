package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.vmm.image.DebianImageFixture;
import dev.hako.vmm.net.NetSpec;
import dev.hako.vmm.net.PasstBackend;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The ssh side of the Debian system test: user networking (passt) with a free host port forwarded to the guest's
 * port 22, and the checks a user of the bundle relies on, run with the host's ssh and scp and the image's test key:
 * the guest's address came from DHCP, commands run, a copied file keeps its SHA-256, and the guest reaches a TCP
 * server on the host's loopback through passt's gateway address. Without passt the checks are skipped (and said so).
 */
final class GuestSsh {
    private static final int FILE_BYTES = 1 << 20;
    private final Path work;
    private final Path key;
    private final int port;

    private GuestSsh(Path work, Path key, int port) {
        this.work = work;
        this.key = key;
        this.port = port;
    }

    /** Null where passt is not installed. */
    static GuestSsh forBundle(Path work) throws Exception {
        if (!PasstBackend.installed()) {
            System.out.println("DebianSystemIT: passt is not installed (apt-get install passt): no ssh checks");
            return null;
        }
        return new GuestSsh(work, DebianImageFixture.image().privateKey(), NetUserIT.freePort());
    }

    VirtioDevices virtio() {
        return VirtioDevices.NONE.withNet(NetSpec.parse("user,hostfwd=tcp:127.0.0.1:" + port + "-:22",
                "debian-system-it"));
    }

    private List<String> options(String portFlag) {
        return List.of(portFlag, String.valueOf(port), "-i", key.toString(), "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=60",
                "-o", "LogLevel=ERROR");
    }

    /** Runs {@code command} in the guest over ssh; "status:output". */
    String ssh(String command) throws Exception {
        List<String> full = new ArrayList<>(List.of("ssh"));
        full.addAll(options("-p"));
        full.addAll(List.of("root@127.0.0.1", command));
        return run(full);
    }

    private static String run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            return "timeout:" + out;
        }
        return p.exitValue() + ":" + out;
    }

    void check() throws Exception {
        String first = "";
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
        while (System.nanoTime() < deadline && !(first = ssh("echo ssh-$((6*7))")).startsWith("0:")) {
            Thread.sleep(2000);
        }
        assertThat(first).as("ssh root@127.0.0.1 -p %d", port).isEqualTo("0:ssh-42\n");
        assertThat(ssh("hostname; ip -4 route show default"))
                .as("the default route networkd got by DHCP").startsWith("0:hako\ndefault via ").contains(" proto dhcp ");

        byte[] data = new byte[FILE_BYTES];
        new SplittableRandom(42).nextBytes(data);
        Path file = work.resolve("scp-me");
        Files.write(file, data);
        List<String> scp = new ArrayList<>(List.of("scp"));
        scp.addAll(options("-P"));
        scp.addAll(List.of(file.toString(), "root@127.0.0.1:/root/copied"));
        assertThat(run(scp)).as("scp to the guest").isEqualTo("0:");
        String digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        assertThat(ssh("sha256sum /root/copied")).isEqualTo("0:" + digest + "  /root/copied\n");

        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            // its own thread: the common pool's may all be running machines (DebianBoot's)
            CompletableFuture<String> line = new CompletableFuture<>();
            Thread.ofPlatform().daemon().start(() -> {
                try (Socket s = server.accept()) {
                    line.complete(new BufferedReader(new InputStreamReader(s.getInputStream(),
                            StandardCharsets.UTF_8)).readLine());
                } catch (Exception e) {
                    line.complete(e.toString());
                }
            });
            String sent = ssh("gw=$(ip route show default | cut -d' ' -f3); "
                    + "echo guest-to-host-$((6*7)) > /dev/tcp/$gw/" + server.getLocalPort() + " && echo sent");
            assertThat(sent).as("the guest's connection to the host through passt's gateway").isEqualTo("0:sent\n");
            assertThat(line.get(1, TimeUnit.MINUTES)).isEqualTo("guest-to-host-42");
        }
    }
}
