package dev.hako.vmm.machine;

import dev.hako.devices.backend.CharBackend;
import dev.hako.vmm.net.NetSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The virtio devices beside the disks that the user asked for, each a PCI function after the disks: an entropy
 * source ({@code rngBytesPerSecond}, 0 for none), a console whose port 0 is the guest's hvc0 ({@code console},
 * null for none), a memory balloon with its initial size ({@code balloonBytes}, -1 for none) and a vsock device
 * for guest CID {@code vsockCid} whose host side is the UNIX socket {@code vsockPath} (null for none), and a
 * network card for each of {@code nets}.
 */
public record VirtioDevices(long rngBytesPerSecond, CharBackend console, long balloonBytes, long vsockCid,
        Path vsockPath, List<NetSpec> nets) {
    public static final VirtioDevices NONE = new VirtioDevices(0, null, -1, 0, null, List.of());

    public VirtioDevices {
        if (rngBytesPerSecond < 0) {
            throw new IllegalArgumentException("virtio-rng rate " + rngBytesPerSecond + " is negative");
        }
        nets = List.copyOf(nets);
    }

    public VirtioDevices withRng(long bytesPerSecond) {
        return new VirtioDevices(bytesPerSecond, console, balloonBytes, vsockCid, vsockPath, nets);
    }

    public VirtioDevices withConsole(CharBackend backend) {
        return new VirtioDevices(rngBytesPerSecond, backend, balloonBytes, vsockCid, vsockPath, nets);
    }

    /** A balloon that starts {@code initialBytes} large (0: the guest keeps all its RAM until the host asks). */
    public VirtioDevices withBalloon(long initialBytes) {
        return new VirtioDevices(rngBytesPerSecond, console, initialBytes, vsockCid, vsockPath, nets);
    }

    /**
     * A vsock device for guest {@code cid} (at least 3): host programs connect to the UNIX socket {@code path}
     * (which must not exist yet) and write "CONNECT port"; guest connections to the host's port P go to
     * {@code path_P}.
     */
    public VirtioDevices withVsock(long cid, Path path) {
        return new VirtioDevices(rngBytesPerSecond, console, balloonBytes, cid, path, nets);
    }

    /** One more network card. */
    public VirtioDevices withNet(NetSpec net) {
        List<NetSpec> more = new ArrayList<>(nets);
        more.add(net);
        return new VirtioDevices(rngBytesPerSecond, console, balloonBytes, vsockCid, vsockPath, more);
    }
}
