package dev.hako.devices.virtio;

/**
 * The device-type half of a virtio device (virtio 1.2 ch. 5): its identity, features, queues and configuration
 * space, and the processing of its queues. The transport ({@link VirtioPciFunction}) owns feature negotiation,
 * status, queue setup, notifications and interrupts, and validates the rings before a device sees a chain.
 */
public interface VirtioDevice {
    /** Its device ID, PCI class, queues and configuration size. */
    VirtioDeviceType type();

    /** The virtio device ID (§5: 2 is a block device). */
    default int deviceId() {
        return type().deviceId();
    }

    /** The PCI class code (base, sub-class, programming interface) the function shows. */
    default int pciClass() {
        return type().pciClass();
    }

    default int queueCount() {
        return type().queueCount();
    }

    /** The largest size of queue {@code queue} (a power of two). */
    default int maxQueueSize(int queue) {
        return type().queueSize();
    }

    /** Bytes of device configuration space. */
    default int configSize() {
        return type().configSize();
    }

    /** Device-type feature bits offered (the transport adds VERSION_1, INDIRECT_DESC and RING_EVENT_IDX). */
    long features();

    /** Reads {@code size} bytes at {@code offset} of the configuration space (offset + size within it). */
    long readConfig(int offset, int size);

    /** The driver writes the configuration space; read-only fields ignore it. */
    void writeConfig(int offset, int size, long value);

    /** The driver set DRIVER_OK with {@code features} negotiated. */
    void activate(long features);

    /** The driver notified queue {@code queue}; the device pops, serves and returns chains through the transport. */
    void process(int queue, VirtioTransport transport);

    /** Device reset (§2.4): back to the state before the driver touched it. */
    void reset();

    /**
     * Called once by the transport that carries this device, before the guest runs: a device with host-side
     * input or host-side controls keeps {@code transport} to call {@link VirtioTransport#processFromHost} and
     * {@link VirtioTransport#configChanged} from its own threads.
     */
    default void connect(VirtioTransport transport) {
    }

    /**
     * The transport took its saved state (after this device took its own): a device with host-side input starts
     * serving the queues the restored driver set up, for which the driver will not notify again.
     */
    default void restored() {
    }
}
