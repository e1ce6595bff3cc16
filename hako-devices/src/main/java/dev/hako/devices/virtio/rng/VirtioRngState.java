package dev.hako.devices.virtio.rng;

/** virtio-rng keeps nothing but its transport's state; the record marks the format for snapshots. */
public record VirtioRngState(int version) {
    public static final int VERSION = 1;
}
