package dev.hako.devices.virtio;

/** One split virtqueue's configuration and the device's ring positions. */
public record VirtqueueState(int version, int size, boolean ready, long descTable, long availRing, long usedRing,
                             int vector, int lastAvail, int used, int signalledUsed, boolean indirect,
                             boolean eventIndex) {
    public static final int VERSION = 1;
}
