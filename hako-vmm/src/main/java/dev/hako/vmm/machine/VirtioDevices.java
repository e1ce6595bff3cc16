package dev.hako.vmm.machine;

import dev.hako.devices.backend.CharBackend;

/**
 * The virtio devices beside the disks that the user asked for, each a PCI function after the disks: an entropy
 * source ({@code rngBytesPerSecond}, 0 for none), a console whose port 0 is the guest's hvc0 ({@code console},
 * null for none) and a memory balloon with its initial size ({@code balloonBytes}, -1 for none).
 */
public record VirtioDevices(long rngBytesPerSecond, CharBackend console, long balloonBytes) {
    public static final VirtioDevices NONE = new VirtioDevices(0, null, -1);

    public VirtioDevices {
        if (rngBytesPerSecond < 0) {
            throw new IllegalArgumentException("virtio-rng rate " + rngBytesPerSecond + " is negative");
        }
    }

    public VirtioDevices withRng(long bytesPerSecond) {
        return new VirtioDevices(bytesPerSecond, console, balloonBytes);
    }

    public VirtioDevices withConsole(CharBackend backend) {
        return new VirtioDevices(rngBytesPerSecond, backend, balloonBytes);
    }

    /** A balloon that starts {@code initialBytes} large (0: the guest keeps all its RAM until the host asks). */
    public VirtioDevices withBalloon(long initialBytes) {
        return new VirtioDevices(rngBytesPerSecond, console, initialBytes);
    }
}
