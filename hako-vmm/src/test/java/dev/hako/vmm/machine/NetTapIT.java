package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.hako.devices.virtio.net.VirtioNet;
import dev.hako.sys.Errno;
import dev.hako.sys.Fcntl;
import dev.hako.sys.Libc;
import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import dev.hako.vmm.image.KernelModules;
import dev.hako.vmm.net.NetSpec;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two VMs of Debian's cloud kernel on TAP devices that hako creates inside a network namespace this test makes
 * ({@code ip netns}, as root; skipped where that is not allowed), both on one bridge with the namespace's own
 * address: each guest pings the host side and the other guest; the host side sends 300 KB over TCP to guest A's
 * {@code nc -l} and guest A sends 300 KB to a listener on the host side, and guest A sends 100 KB to guest B,
 * each compared by SHA-256. The guests negotiate checksum and segmentation offloads with the TAPs, so large TCP
 * segments cross in both directions with their virtio-net headers.
 */
class NetTapIT {
    private static final String CMDLINE = "console=ttyS0 rdinit=/init panic=-1 quiet";
    private static final int BYTES = 300_000, PEER_BYTES = 100_000, GUEST_PORT = 8000, PEER_PORT = 9000,
            HOST_PORT = 7000;
    private static final String HOST = "10.77.0.1", GUEST_A = "10.77.0.2", GUEST_B = "10.77.0.3";
    private static final long SYS_SETNS = 308, CLONE_NEWNET = 0x40000000L;
    private static final String INIT_HEAD = """
            ip link set lo up
            ip addr add %s/24 dev eth0
            ip link set eth0 up
            reach() { n=0; until ping -c 1 -W 1 $1 >/dev/null 2>&1; do n=$((n+1)); [ $n -ge 90 ] && return 1; sleep 1; done; }
            reach %s && echo "ping-host-ok"
            reach %s && echo "ping-peer-ok"
            """;
    private static final String INIT_A = """
            head -c %d /dev/urandom > /tmp/out
            echo "a-sends-host $(sha256sum /tmp/out)"
            nc %s %d < /tmp/out
            head -c %d /dev/urandom > /tmp/peer
            echo "a-sends-peer $(sha256sum /tmp/peer)"
            n=0; until nc %s %d < /tmp/peer; do sleep 1; n=$((n+1)); [ $n -ge 60 ] && break; done
            nc -l -p %d > /tmp/in &
            echo GUEST-LISTENING
            wait
            echo "a-received $(sha256sum /tmp/in)"
            echo HAKO-MARKER-DONE
            poweroff -f
            """;
    private static final String INIT_B = """
            nc -l -p %d > /tmp/in
            echo "b-received $(sha256sum /tmp/in)"
            echo HAKO-MARKER-DONE
            poweroff -f
            """;

    @TempDir
    Path work;
    private final String namespace = "hako-it-" + ProcessHandle.current().pid();
    private boolean namespaceMade;

    @AfterEach
    void removeNamespace() throws Exception {
        if (namespaceMade) {
            run("ip", "netns", "delete", namespace);
        }
    }

    private static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return p.waitFor() + ":" + out;
    }

    private void inNamespace(String... command) throws Exception {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        full.addAll(List.of(command));
        String result = run(full.toArray(String[]::new));
        assertThat(result).as(String.join(" ", command)).startsWith("0:");
    }

    /** Runs {@code action} on this thread moved into the namespace (sockets and TAPs it makes live there). */
    private <T> T insideNamespace(Callable<T> action) throws Exception {
        int original = Fcntl.open("/proc/thread-self/ns/net", Fcntl.O_RDONLY | Fcntl.O_CLOEXEC);
        int target = Fcntl.open("/run/netns/" + namespace, Fcntl.O_RDONLY | Fcntl.O_CLOEXEC);
        try {
            long r = Libc.syscall(SYS_SETNS, target, CLONE_NEWNET, 0, 0, 0, 0);
            assertThat(r).as("setns: %s", r < 0 ? Errno.describe(-r) : "").isZero();
            try {
                return action.call();
            } finally {
                assertThat(Libc.syscall(SYS_SETNS, original, CLONE_NEWNET, 0, 0, 0, 0)).isZero();
            }
        } finally {
            Fcntl.close(original);
            Fcntl.close(target);
        }
    }

    private Path initrd(DebianPackages packages, KernelModules modules, String name, String init) throws Exception {
        Path initrd = work.resolve(name + ".cpio");
        Files.write(initrd, DefaultGuest.initramfs(packages.busybox(), init, modules.files()));
        return initrd;
    }

    @Test
    void guestsOnABridgeReachTheHostAndEachOther() throws Exception {
        assumeThat(run("id", "-u")).as("TAP devices and network namespaces need root").isEqualTo("0:0\n");
        String made = run("ip", "netns", "add", namespace);
        assumeThat(made).as("ip netns add is not allowed here: %s", made).startsWith("0:");
        namespaceMade = true;
        inNamespace("ip", "link", "set", "lo", "up");
        inNamespace("ip", "link", "add", "br0", "type", "bridge");
        inNamespace("ip", "addr", "add", HOST + "/24", "dev", "br0");
        inNamespace("ip", "link", "set", "br0", "up");

        DebianPackages packages = DebianPackages.inDefaultCache();
        Path kernel = packages.debianKernel();
        KernelModules modules = NetUserIT.netModules(packages);
        Path initrdA = initrd(packages, modules, "a", modules.initPrologue()
                + INIT_HEAD.formatted(GUEST_A, HOST, GUEST_B)
                + INIT_A.formatted(BYTES, HOST, HOST_PORT, PEER_BYTES, GUEST_B, PEER_PORT, GUEST_PORT));
        Path initrdB = initrd(packages, modules, "b", modules.initPrologue()
                + INIT_HEAD.formatted(GUEST_B, HOST, GUEST_A) + INIT_B.formatted(PEER_PORT));
        RecordingConsole consoleA = new RecordingConsole(), consoleB = new RecordingConsole();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream logStream = new PrintStream(log, true);
        Machine[] machines = insideNamespace(() -> new Machine[] {
            Machine.create(config(kernel, initrdA, "tap=hkt0,mac=52:54:00:77:00:02"), consoleA, logStream),
            Machine.create(config(kernel, initrdB, "tap=hkt1,mac=52:54:00:77:00:03"), consoleB, logStream)});
        ServerSocket server = insideNamespace(() -> {
            ServerSocket s = new ServerSocket();
            s.bind(new InetSocketAddress(InetAddress.getByName(HOST), HOST_PORT));
            return s;
        });
        for (String tap : List.of("hkt0", "hkt1")) {
            inNamespace("ip", "link", "set", tap, "master", "br0");
            inNamespace("ip", "link", "set", tap, "up");
        }
        byte[] toGuest = new byte[BYTES];
        new SplittableRandom(13).nextBytes(toGuest);
        byte[][] fromGuest = new byte[1][];
        int[] statusB = new int[1];
        int statusA;
        try (Machine a = machines[0]; Machine b = machines[1]; server) {
            Thread runB = Thread.ofPlatform().start(() -> {
                try {
                    statusB[0] = b.run(4, TimeUnit.MINUTES);
                } catch (InterruptedException e) {
                    statusB[0] = -2;
                }
            });
            Thread host = NetUserIT.exchange(server, consoleA, fromGuest, toGuest, logStream,
                    () -> insideNamespace(() -> new Socket(GUEST_A, GUEST_PORT)));
            statusA = a.run(4, TimeUnit.MINUTES);
            runB.join();
            host.interrupt();
            assertThat(a.devices().get("virtio-net0-device", VirtioNet.class).txDropped()).isZero();
        }
        String outA = consoleA.output(), outB = consoleB.output();
        assertThat(statusA).as("A's exit status; hako said: %s%nconsole A:%n%s", log, outA).isZero();
        assertThat(statusB[0]).as("B's exit status; console B:%n%s", outB).isZero();
        for (String out : List.of(outA, outB)) {
            assertThat(out).doesNotContain("insmod-failed").contains("ping-host-ok", "ping-peer-ok", "HAKO-MARKER-DONE");
        }
        assertThat(fromGuest[0]).as("bytes from guest A").hasSize(BYTES);
        assertThat(outA).as("guest A -> host").contains("a-sends-host " + NetUserIT.sha256(fromGuest[0]));
        assertThat(outA).as("host -> guest A").contains("a-received " + NetUserIT.sha256(toGuest));
        String peer = outA.replaceAll("(?s).*a-sends-peer ([0-9a-f]{64}).*", "$1");
        assertThat(outB).as("guest A -> guest B").contains("b-received " + peer);
    }

    private static MachineConfig config(Path kernel, Path initrd, String net) {
        return new MachineConfig(kernel, initrd, CMDLINE, 256L << 20, 1, "soft", List.of())
                .withVirtio(VirtioDevices.NONE.withNet(NetSpec.parse(net, "net-tap-it")));
    }
}
