package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.devices.virtio.balloon.VirtioBalloon;
import dev.hako.testkit.CPrograms;
import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import dev.hako.vmm.image.DefaultGuest.GuestFile;
import dev.hako.vmm.image.KernelModules;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One boot of Debian's cloud kernel on the soft CPU with the virtio devices beside the disks, each checked from
 * inside the guest with Debian's own modules: virtio-rng is /dev/hwrng (the hw_random core picks it, and what it
 * reads does not compress); what the guest writes to virtio-console's hvc0 reaches the host; after the guest
 * dirtied 160 MiB and freed it, a balloon target of 300 MiB set while the guest runs is reached (actual), the
 * guest counts the inflation, and the host's resident memory drops by more than 100 MiB; a line the host types
 * into hvc0 reaches {@code head -n1 /dev/hvc0}; over virtio-vsock, a host connection through the UNIX socket
 * ("CONNECT 5000") to a guest echo listener and a guest connection to the host's listener ({@code PATH_6000})
 * each carry more than 1 MiB both ways, compared byte for byte (see {@link VsockPeer} and c/vsock.c).
 */
class VirtioDevicesIT {
    private static final String CMDLINE = "console=ttyS0 rdinit=/init panic=-1 quiet";
    /** Dependency order: each module after those it needs (their modinfo "depends="). */
    private static final List<String> MODULES = KernelModules.overVirtioPci(
            "drivers/char/hw_random/virtio-rng.ko", "drivers/char/virtio_console.ko", "drivers/virtio/virtio_balloon.ko",
            "net/vmw_vsock/vsock.ko",
            "net/vmw_vsock/vmw_vsock_virtio_transport_common.ko", "net/vmw_vsock/vmw_vsock_virtio_transport.ko");
    private static final String INIT = """
            echo "rng-current $(cat /sys/class/misc/hw_random/rng_current)"
            echo "rng-compressed $(head -c 65536 /dev/hwrng | gzip -c | wc -c)"
            n=0; while [ ! -c /dev/hvc0 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done
            echo GUEST-TO-HVC0 > /dev/hvc0
            echo HVC0-READING
            echo "hvc0-got $(head -n1 /dev/hvc0)"
            /bin/vsock listen %d &
            wait
            /bin/vsock connect %d %d
            dd if=/dev/zero of=/tmp/fill bs=1M count=160 2>/dev/null; rm /tmp/fill
            echo BALLOON-READY
            read answer
            echo "balloon-inflated $(grep balloon_inflate /proc/vmstat)"
            echo HAKO-MARKER-DONE
            poweroff -f
            """;

    /** vsock: the guest's CID, its listener's port, the host's listener's port, the bytes each way (> 1 MiB). */
    private static final long CID = 3;
    private static final int GUEST_PORT = 5000, HOST_PORT = 6000, VSOCK_BYTES = (1 << 20) + 12345;
    private static final String TYPED = "typed-into-hvc0";

    /** 300 MiB of the guest's 512. */
    private static final long BALLOON_PAGES = (300L << 20) / 4096;

    @TempDir
    Path work;

    private static long residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) << 10;
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return -1;
    }

    @Test
    void guestUsesEachVirtioDevice() throws Exception {
        DebianPackages packages = DebianPackages.inDefaultCache();
        Path kernel = packages.debianKernel();
        KernelModules modules = KernelModules.of(packages, MODULES);
        List<GuestFile> files = new ArrayList<>(modules.files());
        Path initrd = work.resolve("initrd.cpio");
        files.add(GuestFile.copyOf(CPrograms.compile(work, "vsock", "-static -O2"), "/bin/vsock"));
        Files.write(initrd, DefaultGuest.initramfs(packages.busybox(),
                modules.initPrologue() + INIT.formatted(GUEST_PORT, HOST_PORT, VSOCK_BYTES), files));
        Path socket = work.resolve("v.sock");
        VsockPeer peer = new VsockPeer(socket, VSOCK_BYTES);
        Thread hostListener = peer.listenAndEcho(Path.of(socket + "_" + HOST_PORT));

        RecordingConsole console = new RecordingConsole();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        RecordingConsole hvc = new RecordingConsole();
        VirtioDevices virtio = VirtioDevices.NONE.withRng(1 << 20).withConsole(hvc).withBalloon(0)
                .withVsock(CID, socket);
        MachineConfig config = new MachineConfig(kernel, initrd, CMDLINE, 512L << 20, 1, "soft", List.of())
                .withVirtio(virtio);
        long[] balloonSeen = new long[3];
        int status;
        try (Machine m = Machine.create(config, console, new PrintStream(log, true))) {
            VirtioBalloon balloon = m.devices().get("virtio-balloon-device", VirtioBalloon.class);
            Thread host = Thread.ofPlatform().daemon().start(() -> {
                try {
                    if (console.await("HVC0-READING", 0, Duration.ofMinutes(3)) >= 0) {
                        hvc.type(TYPED + "\n");
                    }
                    if (console.await("vsock-listening " + GUEST_PORT, 0, Duration.ofMinutes(3)) >= 0) {
                        peer.connectAndCheckEcho(GUEST_PORT);
                    }
                    if (console.await("BALLOON-READY", 0, Duration.ofMinutes(3)) >= 0) {
                        balloonSeen[0] = residentBytes();
                        balloon.setTargetPages(BALLOON_PAGES);
                        for (int i = 0; i < 1200 && balloon.actualPages() != BALLOON_PAGES; i++) {
                            Thread.sleep(100);
                        }
                        balloonSeen[1] = residentBytes();
                        balloonSeen[2] = balloon.actualPages();
                        console.type("go\n");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            status = m.run(4, TimeUnit.MINUTES);
            host.interrupt();
        }
        hostListener.join(5000);
        String out = console.output();
        assertThat(out).as("what the host typed into hvc0, read by the guest").contains("hvc0-got " + TYPED);
        assertThat(peer.hostToGuestResult()).as("host -> guest listener -> host, byte for byte").isEqualTo("echoed "
                + VSOCK_BYTES);
        assertThat(out).contains("vsock-echoed " + VSOCK_BYTES);
        assertThat(peer.guestToHostResult()).as("guest -> host listener, byte for byte").isEqualTo("received "
                + VSOCK_BYTES);
        assertThat(out).as("guest -> host -> guest, checked by the guest").contains("vsock-connect-ok " + VSOCK_BYTES);
        assertThat(socket).as("the socket file goes with the machine").doesNotExist();
        assertThat(hvc.output()).as("what the guest wrote to hvc0").contains("GUEST-TO-HVC0");
        assertThat(status).as("exit status; hako said: %s%nconsole:%n%s", log, out).isZero();
        assertThat(out).contains("HAKO-MARKER-DONE").doesNotContain("insmod-failed");
        assertThat(out).contains("rng-current virtio_rng.0");
        int compressed = Integer.parseInt(out.replaceAll("(?s).*rng-compressed (\\d+).*", "$1"));
        assertThat(compressed).as("64 KiB from /dev/hwrng, gzipped").isGreaterThan(65536);
        assertThat(balloonSeen[2]).as("the driver's actual balloon size").isEqualTo(BALLOON_PAGES);
        assertThat(out).containsPattern("balloon-inflated balloon_inflate [1-9]");
        assertThat(balloonSeen[0] - balloonSeen[1]).as("host RSS given back").isGreaterThan(100L << 20);
    }
}
