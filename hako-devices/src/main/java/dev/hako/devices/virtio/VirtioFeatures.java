package dev.hako.devices.virtio;

/** Feature bits and device status bits of virtio 1.2 (§6 "Reserved Feature Bits", §2.1 "Device Status Field"). */
public final class VirtioFeatures {
    public static final int INDIRECT_DESC = 28, RING_EVENT_IDX = 29, VERSION_1 = 32;
    public static final int STATUS_ACKNOWLEDGE = 1, STATUS_DRIVER = 2, STATUS_DRIVER_OK = 4, STATUS_FEATURES_OK = 8,
            STATUS_DEVICE_NEEDS_RESET = 64, STATUS_FAILED = 128;
    /** What the transport itself offers for every device. */
    public static final long TRANSPORT = 1L << INDIRECT_DESC | 1L << RING_EVENT_IDX | 1L << VERSION_1;

    private VirtioFeatures() {
    }

    public static boolean has(long features, int bit) {
        return (features & 1L << bit) != 0;
    }
}
