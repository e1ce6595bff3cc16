package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.hako.devices.virtio.net.VirtioNet;
import dev.hako.testkit.CPrograms;
import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import dev.hako.vmm.image.DefaultGuest.GuestFile;
import dev.hako.vmm.image.KernelModules;
import dev.hako.vmm.net.NetSpec;
import dev.hako.vmm.net.PasstBackend;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One boot of Debian's cloud kernel (its virtio_net module) on the soft CPU with {@code --net user}: passt's DHCP
 * gives busybox udhcpc an address; the guest sends 300 KB to a TCP server of this test on the host's loopback
 * through passt's gateway address; the test sends 300 KB through a host port forward to {@code nc -l} in the
 * guest; both arrive with the same SHA-256. UDP too: a datagram from the guest to the host through the gateway, and
 * three through a udp host forward to a guest program ({@code c/udp.c}) that echoes them back to their sender.
 * passt ends with the machine. Skipped where passt is not installed.
 *
 * <p>The guest's listener keeps its input open ({@code sleep | nc -l}): with its input at end of file busybox nc
 * half-closes the connection at once, and the passt of Debian 12 (2023-03-09) then stops forwarding the host's
 * remaining bytes (seen in passt's own capture: every frame it sent was acknowledged, then it sent no more).
 */
class NetUserIT {
    private static final String CMDLINE = "console=ttyS0 rdinit=/init panic=-1 quiet";
    private static final List<String> MODULES = KernelModules.overVirtioPci("net/core/failover.ko",
            "drivers/net/net_failover.ko", "drivers/net/virtio_net.ko");
    private static final int BYTES = 300_000, GUEST_PORT = 8000, GUEST_UDP_PORT = 9000;
    /** udhcpc's hook: the lease's address and default route on the interface. */
    static final String DHCP_SCRIPT = """
            #!/bin/busybox sh
            case "$1" in
              bound|renew)
                ip addr add $ip/${mask:-24} dev $interface
                ip route add default via $router dev $interface
                echo "$router" > /tmp/router
                echo "dhcp-bound $ip via $router";;
            esac
            """;
    private static final String INIT = """
            ip link set lo up
            ip link set eth0 up
            echo "guest-mac $(cat /sys/class/net/eth0/address)"
            udhcpc -i eth0 -s /bin/dhcp-script -q -n -t 20 -T 1 || echo dhcp-failed
            timeout 120 /bin/udp %d $(cat /tmp/router) %d 3 &
            udppid=$!
            head -c %d /dev/urandom > /tmp/out
            echo "guest-sends $(sha256sum /tmp/out)"
            nc $(cat /tmp/router) %d < /tmp/out
            sleep 600 | nc -l -p %d > /tmp/in &
            ncpid=$!
            echo GUEST-LISTENING
            while [ -d /proc/$ncpid ]; do sleep 0.2; done
            echo "guest-received $(sha256sum /tmp/in)"
            wait $udppid
            echo "udp-exit $?"
            echo HAKO-MARKER-DONE
            poweroff -f
            """;

    @TempDir
    Path work;

    static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    /**
     * The host side of a guest's two transfers, on its own thread: takes {@code fromGuest[0]} (BYTES) from the
     * guest's connection to {@code server}, then, once the guest says GUEST-LISTENING, sends {@code toGuest}
     * through the connection {@code connect} opens.
     */
    static Thread exchange(ServerSocket server, RecordingConsole console, byte[][] fromGuest, byte[] toGuest,
            PrintStream log, Callable<Socket> connect) {
        return Thread.ofPlatform().daemon().start(() -> {
            try (Socket s = server.accept()) {
                fromGuest[0] = s.getInputStream().readNBytes(toGuest.length);
            } catch (Exception e) {
                fromGuest[0] = new byte[0];
            }
            try {
                if (console.await("GUEST-LISTENING", 0, Duration.ofMinutes(3)) >= 0) {
                    Thread.sleep(500);
                    try (Socket s = connect.call()) {
                        s.getOutputStream().write(toGuest);
                    }
                }
            } catch (Exception e) {
                log.println("host side failed: " + e);
            }
        });
    }

    /**
     * The host side of the UDP checks: takes the guest's datagram, then, once the guest's program is ready, sends
     * three through the forward and takes each echo; what arrived goes into {@code received}.
     */
    private static void udpExchange(DatagramSocket udp, RecordingConsole console, int forwardedUdp,
            List<String> received, PrintStream log) {
        try {
            udp.setSoTimeout(180_000);
            byte[] buffer = new byte[1500];
            DatagramPacket in = new DatagramPacket(buffer, buffer.length);
            udp.receive(in);
            received.add(new String(buffer, 0, in.getLength(), StandardCharsets.US_ASCII));
            if (console.await("udp-ready", 0, Duration.ofMinutes(3)) < 0) {
                return;
            }
            try (DatagramSocket client = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
                client.setSoTimeout(30_000);
                for (int i = 1; i <= 3; i++) {
                    byte[] datagram = ("datagram-" + i).getBytes(StandardCharsets.US_ASCII);
                    client.send(new DatagramPacket(datagram, datagram.length, InetAddress.getLoopbackAddress(),
                            forwardedUdp));
                    DatagramPacket echo = new DatagramPacket(buffer, buffer.length);
                    client.receive(echo);
                    received.add(new String(buffer, 0, echo.getLength(), StandardCharsets.US_ASCII));
                }
            }
        } catch (Exception e) {
            log.println("host side of UDP failed: " + e);
        }
    }

    static int freeUdpPort() throws Exception {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            return s.getLocalPort();
        }
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static KernelModules netModules(DebianPackages packages) throws Exception {
        return KernelModules.of(packages, MODULES);
    }

    @Test
    void guestGetsAnAddressAndTalksToTheHostBothWays() throws Exception {
        assumeThat(PasstBackend.installed()).as("passt is not installed (apt-get install passt)").isTrue();
        DebianPackages packages = DebianPackages.inDefaultCache();
        Path kernel = packages.debianKernel();
        KernelModules modules = netModules(packages);
        int forwarded = freePort();
        int forwardedUdp = freeUdpPort();
        List<GuestFile> files = new java.util.ArrayList<>(modules.files());
        files.add(new GuestFile("/bin/dhcp-script", 0755, DHCP_SCRIPT.getBytes(StandardCharsets.US_ASCII)));
        files.add(new GuestFile("/bin/udp", 0755, Files.readAllBytes(CPrograms.compile(work, "udp", "-static -O2"))));
        try (ServerSocket server = new ServerSocket();
                DatagramSocket udp = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Path initrd = work.resolve("initrd.cpio");
            Files.write(initrd, DefaultGuest.initramfs(packages.busybox(), modules.initPrologue()
                    + INIT.formatted(GUEST_UDP_PORT, udp.getLocalPort(), BYTES, server.getLocalPort(), GUEST_PORT),
                    files));
            NetSpec net = NetSpec.parse("user,hostfwd=tcp:127.0.0.1:" + forwarded + "-:" + GUEST_PORT
                    + ",hostfwd=udp:127.0.0.1:" + forwardedUdp + "-:" + GUEST_UDP_PORT, "net-user-it");
            MachineConfig config = new MachineConfig(kernel, initrd, CMDLINE, 256L << 20, 1, "soft", List.of())
                    .withVirtio(VirtioDevices.NONE.withNet(net));
            RecordingConsole console = new RecordingConsole();
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            byte[][] fromGuest = new byte[1][];
            List<String> udpReceived = new java.util.concurrent.CopyOnWriteArrayList<>();
            byte[] toGuest = new byte[BYTES];
            new SplittableRandom(11).nextBytes(toGuest);
            int status;
            VirtioNet device;
            try (Machine m = Machine.create(config, console, new PrintStream(log, true))) {
                device = m.devices().get("virtio-net0-device", VirtioNet.class);
                Thread host = exchange(server, console, fromGuest, toGuest, new PrintStream(log, true),
                        () -> new Socket(InetAddress.getLoopbackAddress(), forwarded));
                Thread udpHost = Thread.ofPlatform().daemon().start(() -> udpExchange(udp, console, forwardedUdp,
                        udpReceived, new PrintStream(log, true)));
                status = m.run(4, TimeUnit.MINUTES);
                host.interrupt();
                udpHost.interrupt();
            }
            String out = console.output();
            assertThat(status).as("exit status; hako said: %s%nconsole:%n%s", log, out).isZero();
            assertThat(out).doesNotContain("insmod-failed").doesNotContain("dhcp-failed");
            assertThat(out).as("the MAC derived from the VM's name").contains("guest-mac " + net.mac());
            assertThat(out).containsPattern("dhcp-bound \\d+\\.\\d+\\.\\d+\\.\\d+ via \\d+");
            String sent = out.replaceAll("(?s).*guest-sends ([0-9a-f]{64}).*", "$1");
            assertThat(fromGuest[0]).as("bytes from the guest").hasSize(BYTES);
            assertThat(sha256(fromGuest[0])).as("guest -> host through passt's gateway").isEqualTo(sent);
            assertThat(out).as("host -> guest through hostfwd").contains("guest-received " + sha256(toGuest));
            assertThat(out).contains("HAKO-MARKER-DONE");
            assertThat(udpReceived).as("UDP: guest -> host through the gateway, then host -> guest -> host through "
                    + "the udp forward; hako said: %s", log).containsExactly("guest-to-host", "echo:datagram-1",
                    "echo:datagram-2", "echo:datagram-3");
            assertThat(out).contains("udp-exit 0");
            assertThat(device.rxFrames()).isPositive();
            assertThat(device.txFrames()).isPositive();
            assertThat(ProcessHandle.current().children()
                    .filter(p -> p.info().command().orElse("").contains("passt")).count())
                    .as("passt processes left after the machine").isZero();
        }
    }
}
