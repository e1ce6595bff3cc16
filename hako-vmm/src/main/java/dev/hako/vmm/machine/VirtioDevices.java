package dev.hako.vmm.machine;

import dev.hako.devices.backend.CharBackend;
import java.nio.file.Path;

/**
 * The virtio devices beside the disks that the user asked for, each a PCI function after the disks: an entropy
 * source ({@code rngBytesPerSecond}, 0 for none), a console whose port 0 is the guest's hvc0 ({@code console},
 * null for none), a memory balloon with its initial size ({@code balloonBytes}, -1 for none) and a vsock device
 * for guest CID {@code vsockCid} whose host side is the UNIX socket {@code vsockPath} (null for none).
 */
public record VirtioDevices(long rngBytesPerSecond, CharBackend console, long balloonBytes, long vsockCid,
        Path vsockPath) {
    public static final VirtioDevices NONE = new VirtioDevices(0, null, -1, 0, null);

    public VirtioDevices {
        if (rngBytesPerSecond < 0) {
            throw new IllegalArgumentException("virtio-rng rate " + rngBytesPerSecond + " is negative");
        }
    }

    public VirtioDevices withRng(long bytesPerSecond) {
        return new VirtioDevices(bytesPerSecond, console, balloonBytes, vsockCid, vsockPath);
    }

    public VirtioDevices withConsole(CharBackend backend) {
        return new VirtioDevices(rngBytesPerSecond, backend, balloonBytes, vsockCid, vsockPath);
    }

    /** A balloon that starts {@code initialBytes} large (0: the guest keeps all its RAM until the host asks). */
    public VirtioDevices withBalloon(long initialBytes) {
        return new VirtioDevices(rngBytesPerSecond, console, initialBytes, vsockCid, vsockPath);
    }

    /**
     * A vsock device for guest {@code cid} (at least 3): host programs connect to the UNIX socket {@code path}
     * (which must not exist yet) and write "CONNECT port"; guest connections to the host's port P go to
     * {@code path_P}.
     */
    public VirtioDevices withVsock(long cid, Path path) {
        return new VirtioDevices(rngBytesPerSecond, console, balloonBytes, cid, path);
    }
}
