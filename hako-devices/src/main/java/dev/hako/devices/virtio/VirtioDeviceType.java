package dev.hako.devices.virtio;

/**
 * What a virtio device type is, as data: its virtio device ID (§5), the PCI class code its function shows, how
 * many virtqueues it has and their largest size (a power of two), and the bytes of its configuration space.
 */
public record VirtioDeviceType(int deviceId, int pciClass, int queueCount, int queueSize, int configSize) {
    public VirtioDeviceType {
        if (queueCount < 1 || Integer.bitCount(queueSize) != 1 || configSize < 0) {
            throw new IllegalArgumentException("virtio device type " + deviceId + ": " + queueCount + " queues of "
                    + queueSize + ", " + configSize + " configuration bytes");
        }
    }
}
