package dev.hako.devices.backend;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The host side of a network card: Ethernet frames in and out of a user-mode network stack (passt) or a TAP
 * device. {@link #receive} and {@link #send} never block; the network device's host thread waits in
 * {@link #await} for the backend to have a frame or to take frames again, so the device, not the backend, decides
 * when frames move, and a guest that posts no receive buffers stops the backend's reads (back-pressure) instead of
 * growing a queue.
 *
 * <p>A backend with a virtio-net header ({@link #vnetHeader}) carries the 12-byte {@code struct virtio_net_hdr_v1}
 * (virtio 1.2 §5.1.6) in front of every frame in both directions, as a TAP device with IFF_VNET_HDR does; it may
 * then take checksum and segmentation offloads ({@link #offloads}). One without carries bare frames.
 */
public interface NetBackend extends AutoCloseable {
    /** Bytes of the virtio-net header in front of a frame when {@link #vnetHeader} is true. */
    int VNET_HEADER = 12;

    /** Whether frames carry the virtio-net header in both directions. */
    boolean vnetHeader();

    /**
     * The virtio-net feature bits (§5.1.3) of the offloads this backend can carry in both directions: checksum
     * (CSUM, GUEST_CSUM) and segmentation (HOST_TSO*, GUEST_TSO*, *_ECN); 0 for none. Only with a header.
     */
    long offloads();

    /**
     * The driver accepted {@code features}: the backend may now hand the guest frames with those receive offloads
     * (GUEST_CSUM, GUEST_TSO4, GUEST_TSO6, GUEST_ECN) and no others.
     */
    void enableOffloads(long features) throws IOException;

    /**
     * Takes the next frame (with its header when {@link #vnetHeader}) into {@code into} at its position, at most
     * its remaining bytes: returns the frame's length, 0 when no frame is ready, -1 when the backend has ended.
     * A frame longer than the room is dropped and counted by the backend, never cut. Does not block.
     */
    int receive(ByteBuffer into) throws IOException;

    /**
     * Sends the frame between {@code frame}'s position and limit (with its header when {@link #vnetHeader}):
     * true when it was taken (sent, or queued within the backend's bound), false when the backend cannot take it
     * now and the caller should retry after {@link #await} reports room. Does not block.
     */
    boolean send(ByteBuffer frame) throws IOException;

    /**
     * Blocks until a frame may be ready for {@link #receive} (only when {@code frames}: a guest without receive
     * buffers does not want them), room came back after a refused {@link #send}, or {@code millis} passed. False
     * when the backend has ended.
     */
    boolean await(boolean frames, long millis) throws IOException;

    /**
     * The MTU the guest should use (VIRTIO_NET_F_MTU), or 0 to leave it to the guest (Ethernet's 1500). Frames
     * the backend gives are no longer than this plus the Ethernet header.
     */
    default int mtu() {
        return 0;
    }

    /**
     * Whether every frame this backend gives carries correct TCP and UDP checksums (passt builds them itself and
     * hands them over a UNIX socket), so the guest need not check them. Only without a header.
     */
    default boolean checksummedFrames() {
        return false;
    }

    /** Frames the backend dropped on its own (malformed, too long, refused by the host). */
    long dropped();

    /** Ends the backend (its process, socket or file descriptor). */
    @Override
    void close();
}
