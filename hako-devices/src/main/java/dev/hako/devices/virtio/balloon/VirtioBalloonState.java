package dev.hako.devices.virtio.balloon;

/**
 * The target and the driver's actual size (pages), the features, the statistics buffer the device holds (its head
 * index, or -1) and the latest statistics (by tag; {@code statsValid} has bit t set when tag t was reported).
 */
public record VirtioBalloonState(int version, long targetPages, long actualPages, long activeFeatures,
                                 int statsHead, long[] statistics, int statsValid, long statsUpdates) {
    public static final int VERSION = 1;

    public VirtioBalloonState {
        statistics = statistics.clone();
    }

    @Override
    public long[] statistics() {
        return statistics.clone();
    }
}
