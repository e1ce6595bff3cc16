package dev.hako.devices.virtio.vsock;

/**
 * What a restored virtio-vsock needs: the guest's CID (checked against the new device's) and the next port hako
 * gives a host-initiated connection. Connections are not saved: their host sockets do not survive, so a restored
 * device starts with none and tells the guest with VIRTIO_VSOCK_EVENT_TRANSPORT_RESET.
 */
public record VirtioVsockState(int version, long guestCid, int nextLocalPort) {
    public static final int VERSION = 1;
}
