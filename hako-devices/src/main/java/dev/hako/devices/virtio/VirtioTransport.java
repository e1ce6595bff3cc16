package dev.hako.devices.virtio;

import dev.hako.core.memory.GuestMemory;

/** What a {@link VirtioDevice} uses of its transport while it processes a queue. */
public interface VirtioTransport {
    GuestMemory memory();

    Virtqueue queue(int index);

    /** The features the driver accepted. */
    long negotiatedFeatures();

    /** After returning chains on {@code queue}: interrupts the driver if it asked to be told. */
    void signalUsed(int queue);

    /**
     * The guest broke the protocol ({@code why} says how): the device enters DEVICE_NEEDS_RESET, raises the
     * configuration interrupt and ignores its queues until the driver resets it. Logged once per device.
     */
    void needsReset(String why);

    /** {@link #needsReset} for a queue whose rings broke the protocol ({@link Virtqueue#error()} says how). */
    void queueBroken(int queue);

    /** Whether the device may still serve requests (DRIVER_OK and not DEVICE_NEEDS_RESET). */
    boolean live();
}
