package dev.hako.devices.virtio.blk;

/** The features the driver activated the device with (the rest is the transport's or the backend's). */
public record VirtioBlockState(int version, long activeFeatures) {
    public static final int VERSION = 1;
}
