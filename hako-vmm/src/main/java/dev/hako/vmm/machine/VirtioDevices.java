package dev.hako.vmm.machine;

/**
 * The virtio devices beside the disks that the user asked for, each a PCI function after the disks: an entropy
 * source ({@code rng}, rate in bytes per second, 0 for none).
 */
public record VirtioDevices(long rngBytesPerSecond) {
    public static final VirtioDevices NONE = new VirtioDevices(0);

    public VirtioDevices {
        if (rngBytesPerSecond < 0) {
            throw new IllegalArgumentException("virtio-rng rate " + rngBytesPerSecond + " is negative");
        }
    }

    public VirtioDevices withRng(long bytesPerSecond) {
        return new VirtioDevices(bytesPerSecond);
    }
}
