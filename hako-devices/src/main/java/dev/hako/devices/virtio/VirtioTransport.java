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

    /**
     * The device's configuration space changed on the host's initiative (§2.5.1): a new configuration generation
     * and the configuration interrupt. Callable from any thread.
     */
    void configChanged();

    /**
     * The device has work for queue {@code queue} that the host, not the driver, started (input arrived, a timer
     * fired): runs {@link VirtioDevice#process} under the transport's lock, exactly as a driver notification
     * would, when the device is live and the queue enabled. Callable from any thread; a device must not call it
     * from inside {@code process}.
     */
    void processFromHost(int queue);
}
