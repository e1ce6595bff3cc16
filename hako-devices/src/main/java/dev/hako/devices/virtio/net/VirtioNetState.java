package dev.hako.devices.virtio.net;

/**
 * What a network card holds besides its transport: the features the driver activated it with, whether the guest
 * was told the link is up, and its counters (so statistics run on across a restore or a migration).
 */
public record VirtioNetState(int version, long activeFeatures, boolean linkUp, long rxFrames, long txFrames,
        long rxDropped, long txDropped, long rxBytes, long txBytes) {
    public static final int VERSION = 1;
}
