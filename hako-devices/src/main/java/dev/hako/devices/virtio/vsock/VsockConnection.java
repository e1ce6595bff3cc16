package dev.hako.devices.virtio.vsock;

import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * One stream between a guest socket and a host UNIX socket, with its two bounded buffers and the credit
 * accounting of virtio 1.2 §5.10.6.3: the guest may have at most {@link #BUFFER} bytes in flight toward the host
 * (our buf_alloc; fwd_cnt counts what the host socket took), and hako sends the guest at most what the guest's
 * buf_alloc minus its unconsumed bytes allows. The flags say which control packet the receive queue owes the
 * guest. Guarded by the device's lock.
 */
final class VsockConnection {
    /** Bytes buffered each way; guest→host is also the buf_alloc hako advertises. */
    static final int BUFFER = 64 * 1024;

    enum State {
        /** The host connected to PATH and has not finished its "CONNECT port" line. */
        HANDSHAKE,
        /** REQUEST owed or sent to the guest's listener; waiting for RESPONSE or RST. */
        HOST_REQUESTED,
        /** The guest asked for the host's port: the host thread connects to PATH_port. */
        GUEST_REQUESTED,
        ESTABLISHED,
        /** Closed on hako's side: an RST is owed to the guest, then the connection is forgotten. */
        CLOSING
    }

    /** The port on hako's side (the host, CID 2) and the guest's port. */
    int localPort;
    int peerPort;
    State state;
    SocketChannel channel;
    SelectionKey key;
    /** Allocated by the host thread when the connection gets a host socket, dropped when it ends. */
    ByteRing toGuest;
    ByteRing toHost;
    /** "OK port\n" for the host once the guest accepted a host-initiated connection. */
    final ByteBuffer reply = ByteBuffer.allocate(24).limit(0);
    long peerBufAlloc;
    long peerFwdCnt;
    /** Payload bytes sent to the guest, received from it, and written to the host socket (u32, wrapping). */
    long txCnt;
    long rxCnt;
    long fwdCnt;
    long fwdCntSent;
    boolean owesRequest;
    boolean owesResponse;
    boolean owesCreditUpdate;
    boolean owesShutdown;
    boolean hostEof;
    boolean hostEofReported;
    boolean guestSendsNoMore;
    boolean guestReceivesNoMore;
    boolean hostOutputShut;
    long deadlineNanos;

    /** A connection object, possibly reused, set to a new connection's initial state. */
    VsockConnection open(int local, int peer, State initial) {
        localPort = local;
        peerPort = peer;
        state = initial;
        channel = null;
        key = null;
        toGuest = null;
        toHost = null;
        reply.clear().limit(0);
        peerBufAlloc = peerFwdCnt = txCnt = rxCnt = fwdCnt = fwdCntSent = 0;
        owesRequest = owesResponse = owesCreditUpdate = owesShutdown = false;
        hostEof = hostEofReported = guestSendsNoMore = guestReceivesNoMore = hostOutputShut = false;
        deadlineNanos = 0;
        return this;
    }

    /** The two buffers, when the connection gets its host socket (on the host thread, off the guest's path). */
    void allocateBuffers() {
        toGuest = new ByteRing(BUFFER);
        toHost = new ByteRing(BUFFER);
    }

    /** How many more bytes the guest's receive buffer takes (0 if it shrank below what is in flight). */
    long peerCredit() {
        long inFlight = (txCnt - peerFwdCnt) & 0xFFFF_FFFFL;
        return inFlight >= peerBufAlloc ? 0 : peerBufAlloc - inFlight;
    }

    /** Bytes the guest sent that the host socket has not taken yet. */
    long unforwarded() {
        return (rxCnt - fwdCnt) & 0xFFFF_FFFFL;
    }

    void updatePeerCredit(long bufAlloc, long fwdCnt) {
        this.peerBufAlloc = bufAlloc;
        this.peerFwdCnt = fwdCnt;
    }

    /** Whether the receive queue owes the guest a packet for this connection now. */
    boolean owesGuest() {
        return switch (state) {
            case CLOSING -> true;
            case HOST_REQUESTED -> owesRequest;
            case ESTABLISHED -> owesResponse || owesCreditUpdate || hasDataForGuest()
                    || owesShutdown && toGuest.isEmpty();
            default -> false;
        };
    }

    boolean hasDataForGuest() {
        return !toGuest.isEmpty() && peerCredit() > 0 && !guestReceivesNoMore;
    }

    /**
     * The host socket took {@code bytes}: a CREDIT_UPDATE is owed once a quarter of the buffer is free that the
     * guest has not heard of (a guest out of credit has the whole buffer in flight, so it always hears).
     */
    void noteForwarded(int bytes) {
        fwdCnt = (fwdCnt + bytes) & 0xFFFF_FFFFL;
        if (((fwdCnt - fwdCntSent) & 0xFFFF_FFFFL) >= BUFFER / 4) {
            owesCreditUpdate = true;
        }
    }
}
