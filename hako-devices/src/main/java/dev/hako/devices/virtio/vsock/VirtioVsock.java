package dev.hako.devices.virtio.vsock;

import dev.hako.core.memory.GuestMemory;
import dev.hako.core.state.Snapshotable;
import dev.hako.devices.virtio.DescriptorChain;
import dev.hako.devices.virtio.VirtioDevice;
import dev.hako.devices.virtio.VirtioDeviceType;
import dev.hako.devices.virtio.VirtioTransport;
import dev.hako.devices.virtio.Virtqueue;
import dev.hako.devices.virtio.vsock.VsockConnection.State;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A socket device (virtio 1.2 §5.10) whose host side is UNIX sockets, as Firecracker's: the guest (CID from the
 * configuration space, at least 3) reaches the host as CID 2. A host program connects to the socket at PATH and
 * writes {@code CONNECT <port>\n}; hako sends the guest a REQUEST for that port and, when the guest's listener
 * accepts, answers {@code OK <hostport>\n} and relays the stream (the host connection is closed if the guest
 * answers RST or not at all within two seconds). A guest connection to CID 2 port P is relayed to the UNIX socket
 * {@code PATH_P}, or refused with RST when nobody listens there. The socket I/O runs on {@link VsockUnixHost}'s
 * thread.
 *
 * <p>Implemented: stream sockets (REQUEST, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE, CREDIT_REQUEST) with
 * credit-based flow control (§5.10.6.3): hako sends a connection's guest socket at most its advertised buf_alloc
 * minus what it has not consumed, and advertises {@link VsockConnection#BUFFER} bytes per connection, so the bytes
 * buffered are bounded whatever either peer does ({@link #MAX_CONNECTIONS} connections, two buffers each, a
 * bounded queue of RSTs for packets of no connection). The event queue carries VIRTIO_VSOCK_EVENT_TRANSPORT_RESET
 * after a restore, since the host sockets did not survive. Not implemented: VIRTIO_VSOCK_F_SEQPACKET (the guest's
 * SOCK_SEQPACKET connections are refused with RST).
 *
 * <p>Guest control: every header field and payload of the transmit queue, the receive and event buffers. A
 * packet of another CID, type, unknown connection or operation is answered with RST (never an RST to an RST); a
 * guest that sends beyond its credit has the connection reset; a chain too short for a header, or whose header
 * claims more payload than the chain holds, puts the device in DEVICE_NEEDS_RESET. Queue processing allocates
 * nothing.
 */
public final class VirtioVsock implements VirtioDevice, Snapshotable<VirtioVsockState>, AutoCloseable {
    public static final int DEVICE_ID = 19;
    /** PCI class "simple communication controller, other" (as QEMU's vhost-vsock-pci). */
    public static final int CLASS_COMMUNICATION_OTHER = 0x078000;
    public static final int F_STREAM = 0;
    public static final int RX_QUEUE = 0, TX_QUEUE = 1, EVENT_QUEUE = 2, QUEUE_SIZE = 128;
    /** struct virtio_vsock_config: le64 guest_cid. */
    public static final int CFG_GUEST_CID = 0, CONFIG_SIZE = 8;
    public static final long HOST_CID = 2, MIN_GUEST_CID = 3, MAX_GUEST_CID = 0xFFFF_FFFEL;
    public static final int EVENT_TRANSPORT_RESET = 0;
    public static final int MAX_CONNECTIONS = 64;
    /** The largest payload of one packet to the guest (Linux's receive buffers are 4 KiB; 64 KiB is its limit). */
    static final int MAX_PAYLOAD = 64 * 1024;
    static final int STRAY_RESETS = 64;
    /** Ports hako gives host-initiated connections start here, as Firecracker's. */
    static final int FIRST_LOCAL_PORT = 1 << 30;
    private static final VirtioDeviceType TYPE = new VirtioDeviceType(DEVICE_ID, CLASS_COMMUNICATION_OTHER,
            3, QUEUE_SIZE, CONFIG_SIZE);

    /** Guards the connections, their buffers and the queues' bookkeeping; taken after the transport's lock. */
    final Object lock = new Object();
    final VsockConnection[] connections = new VsockConnection[MAX_CONNECTIONS];
    /** RSTs owed for packets of no connection: (our port, guest port) pairs, dropped when full. */
    private final int[] strayLocal = new int[STRAY_RESETS];
    private final int[] strayPeer = new int[STRAY_RESETS];
    /**
     * Ended connections (without their buffers), kept for reuse so that a guest's connect-and-reset loop
     * allocates nothing on its vCPU.
     */
    private final VsockConnection[] spare = new VsockConnection[MAX_CONNECTIONS];
    private int spareCount;
    private int strayStart;
    private int strayCount;
    private final VsockHeader txHeader = new VsockHeader();
    private final VsockHeader rxHeader = new VsockHeader();
    private final byte[] replyText = new byte[24];
    private final long guestCid;
    private final VsockUnixHost host;
    private volatile VirtioTransport transport;
    private volatile boolean transportResetOwed;
    private int nextLocalPort = FIRST_LOCAL_PORT;
    private int rxCursor;
    private boolean wakeHost;

    /**
     * A device for guest {@code guestCid} whose host side listens at {@code path} (which must not exist yet);
     * guest connections to the host's port P go to {@code path_P}.
     */
    public VirtioVsock(long guestCid, Path path) throws IOException {
        if (guestCid < MIN_GUEST_CID || guestCid > MAX_GUEST_CID) {
            throw new IllegalArgumentException("vsock guest CID " + guestCid + " is not between " + MIN_GUEST_CID
                    + " and " + MAX_GUEST_CID);
        }
        this.guestCid = guestCid;
        this.host = new VsockUnixHost(this, path);
    }

    public long guestCid() {
        return guestCid;
    }

    @Override
    public VirtioDeviceType type() {
        return TYPE;
    }

    @Override
    public void connect(VirtioTransport transport) {
        this.transport = transport;
        host.start();
    }

    VirtioTransport transport() {
        return transport;
    }

    boolean transportResetOwed() {
        return transportResetOwed;
    }

    /** Stops the host thread, closes every host socket and removes the listening socket's file. */
    @Override
    public void close() {
        host.close();
        synchronized (lock) {
            dropAll();
        }
    }

    @Override
    public long features() {
        return 1L << F_STREAM;
    }

    @Override
    public long readConfig(int offset, int size) {
        long value = guestCid >>> (8 * offset);
        return size == 8 ? value : value & ((1L << (8 * size)) - 1);
    }

    @Override
    public void writeConfig(int offset, int size, long value) {
        // guest_cid is read-only
    }

    @Override
    public void activate(long features) {
        // connections start with the guest's or the host's first REQUEST
    }

    @Override
    public void reset() {
        synchronized (lock) {
            dropAll();
            transportResetOwed = false;
        }
        host.wakeup();
    }

    @Override
    public void process(int queue, VirtioTransport t) {
        if (transportResetOwed) {
            deliverEvent(t);
        }
        if (queue == TX_QUEUE) {
            transmit(t);
        }
        if (queue != EVENT_QUEUE) {
            deliverToGuest(t);
        }
        boolean wake;
        synchronized (lock) {
            wake = wakeHost;
            wakeHost = false;
        }
        if (wake) {
            host.wakeup();
        }
    }

    private void deliverEvent(VirtioTransport t) {
        Virtqueue q = t.queue(EVENT_QUEUE);
        int head = q.pop();
        if (head == Virtqueue.MALFORMED) {
            t.queueBroken(EVENT_QUEUE);
        } else if (head >= 0) {
            DescriptorChain chain = q.chain();
            if (chain.writableBytes() < 4) {
                t.needsReset("a vsock event buffer has no room for an event");
                return;
            }
            chain.writeLe(t.memory(), 0, 4, EVENT_TRANSPORT_RESET);
            q.pushUsed(head, 4);
            transportResetOwed = false;
            t.signalUsed(EVENT_QUEUE);
        }
    }

    private void transmit(VirtioTransport t) {
        Virtqueue q = t.queue(TX_QUEUE);
        GuestMemory memory = t.memory();
        synchronized (lock) {
            do {
                int head;
                while ((head = q.pop()) >= 0) {
                    DescriptorChain chain = q.chain();
                    if (chain.readableBytes() < VsockHeader.SIZE) {
                        t.needsReset("a vsock packet is shorter than its header");
                        return;
                    }
                    txHeader.read(chain, memory);
                    if (txHeader.len > chain.readableBytes() - VsockHeader.SIZE) {
                        t.needsReset("a vsock header claims more payload than its packet holds");
                        return;
                    }
                    fromGuest(txHeader, chain, memory);
                    q.pushUsed(head, 0);
                }
                if (head == Virtqueue.MALFORMED) {
                    t.queueBroken(TX_QUEUE);
                    return;
                }
                t.signalUsed(TX_QUEUE);
            } while (q.armNotification());
        }
    }

    /** One packet from the guest (its header in {@code h}, its payload after the header in {@code chain}). */
    private void fromGuest(VsockHeader h, DescriptorChain chain, GuestMemory memory) {
        if (h.srcCid != guestCid || h.dstCid != HOST_CID || h.type != VsockHeader.TYPE_STREAM) {
            strayReset(h);
            return;
        }
        VsockConnection c = find(h.dstPort, h.srcPort);
        if (c == null) {
            if (h.op == VsockHeader.OP_REQUEST) {
                guestRequest(h);
            } else {
                strayReset(h);
            }
            return;
        }
        c.updatePeerCredit(h.bufAlloc, h.fwdCnt);
        switch (h.op) {
            case VsockHeader.OP_RESPONSE -> {
                if (c.state == State.HOST_REQUESTED && !c.owesRequest) {
                    c.state = State.ESTABLISHED;
                    int length = ascii("OK " + Integer.toUnsignedString(c.localPort) + "\n");
                    c.reply.clear();
                    c.reply.put(replyText, 0, length).flip();
                    wakeHost = true;
                } else {
                    reset(c);
                }
            }
            case VsockHeader.OP_RW -> {
                if (c.state != State.ESTABLISHED || c.guestSendsNoMore
                        || h.len > VsockConnection.BUFFER - c.unforwarded()) {
                    reset(c);  // data before the connection, after SHUTDOWN, or beyond the credit hako gave
                    return;
                }
                wakeHost |= c.toHost.isEmpty() && h.len > 0;
                movePayload(chain, memory, (int) h.len, c.toHost, false);
                c.rxCnt = (c.rxCnt + h.len) & 0xFFFF_FFFFL;
            }
            case VsockHeader.OP_CREDIT_UPDATE -> {
                // the credit is taken from every header above; deliverToGuest sends what it now allows
            }
            case VsockHeader.OP_CREDIT_REQUEST -> c.owesCreditUpdate = true;
            case VsockHeader.OP_SHUTDOWN -> {
                c.guestSendsNoMore |= (h.flags & VsockHeader.SHUTDOWN_SEND) != 0;
                c.guestReceivesNoMore |= (h.flags & VsockHeader.SHUTDOWN_RECEIVE) != 0;
                wakeHost = true;
            }
            case VsockHeader.OP_RST -> forget(c);
            default -> reset(c);  // a second REQUEST, INVALID, or an operation this version does not know
        }
    }

    /** The reply text into {@link #replyText}; only at connection setup, where allocating is fine. */
    private int ascii(String text) {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, replyText, 0, b.length);
        return b.length;
    }

    private void guestRequest(VsockHeader h) {
        int free = freeSlot();
        if (free < 0) {
            strayReset(h);
            return;
        }
        VsockConnection c = newConnection(h.dstPort, h.srcPort, State.GUEST_REQUESTED);
        c.updatePeerCredit(h.bufAlloc, h.fwdCnt);
        connections[free] = c;
        wakeHost = true;
    }

    /**
     * Moves {@code length} payload bytes between {@code ring} and the chain's bytes after the header: from the
     * readable segments into the ring ({@code toGuest} false), or from the ring into the writable ones.
     */
    private static void movePayload(DescriptorChain chain, GuestMemory memory, int length, ByteRing ring,
            boolean toGuest) {
        long skip = VsockHeader.SIZE;
        int left = length;
        int from = toGuest ? chain.readableSegments() : 0;
        int to = toGuest ? chain.segments() : chain.readableSegments();
        for (int s = from; s < to && left > 0; s++) {
            long segment = chain.length(s);
            if (skip >= segment) {
                skip -= segment;
                continue;
            }
            int n = (int) Math.min(segment - skip, left);
            if (toGuest) {
                ring.takeToGuest(memory, chain.address(s) + skip, n);
            } else {
                ring.putFromGuest(memory, chain.address(s) + skip, n);
            }
            left -= n;
            skip = 0;
        }
    }

    private void strayReset(VsockHeader h) {
        if (h.op == VsockHeader.OP_RST || strayCount == STRAY_RESETS) {
            return;  // never answer an RST; past the bound the guest's connect times out instead
        }
        int at = (strayStart + strayCount) % STRAY_RESETS;
        strayLocal[at] = h.dstPort;
        strayPeer[at] = h.srcPort;
        strayCount++;
    }

    /** Ends {@code c} from hako's side: its host socket closes and the guest is owed an RST. */
    void reset(VsockConnection c) {
        closeChannel(c);
        c.state = State.CLOSING;
        wakeHost = true;
    }

    /** Forgets {@code c} without telling the guest (it reset the connection, or never knew of it). */
    void forget(VsockConnection c) {
        for (int i = 0; i < connections.length; i++) {
            if (connections[i] == c) {
                release(i);
            }
        }
        wakeHost = true;
    }

    /** Closes connection slot {@code i}'s socket and keeps its object for reuse. */
    private void release(int i) {
        VsockConnection c = connections[i];
        closeChannel(c);
        c.toGuest = null;
        c.toHost = null;
        connections[i] = null;
        spare[spareCount++] = c;
    }

    VsockConnection newConnection(int localPort, int peerPort, State state) {
        VsockConnection c = spareCount > 0 ? spare[--spareCount] : new VsockConnection();
        return c.open(localPort, peerPort, state);
    }

    private static void closeChannel(VsockConnection c) {
        if (c.channel != null) {
            try {
                c.channel.close();
            } catch (IOException e) {
                // the socket is gone either way
            }
            c.channel = null;
            c.key = null;
        }
    }

    private void dropAll() {
        for (int i = 0; i < connections.length; i++) {
            if (connections[i] != null) {
                release(i);
            }
        }
        strayCount = 0;
    }

    VsockConnection find(int localPort, int peerPort) {
        for (VsockConnection c : connections) {
            if (c != null && c.localPort == localPort && c.peerPort == peerPort && c.state != State.HANDSHAKE) {
                return c;
            }
        }
        return null;
    }

    int freeSlot() {
        for (int i = 0; i < connections.length; i++) {
            if (connections[i] == null) {
                return i;
            }
        }
        return -1;
    }

    /** A port for a new host-initiated connection that no live connection uses. */
    int allocateLocalPort() {
        while (true) {
            int port = nextLocalPort;
            nextLocalPort = nextLocalPort == Integer.MAX_VALUE ? FIRST_LOCAL_PORT : nextLocalPort + 1;
            boolean used = false;
            for (VsockConnection c : connections) {
                used |= c != null && c.localPort == port;
            }
            if (!used) {
                return port;
            }
        }
    }

    /** Whether the receive queue owes the guest a packet (called with {@link #lock} held). */
    boolean owesGuest() {
        if (strayCount > 0) {
            return true;
        }
        for (VsockConnection c : connections) {
            if (c != null && c.owesGuest()) {
                return true;
            }
        }
        return false;
    }

    private void deliverToGuest(VirtioTransport t) {
        Virtqueue q = t.queue(RX_QUEUE);
        GuestMemory memory = t.memory();
        synchronized (lock) {
            while (true) {
                boolean delivered = false;
                while (owesGuest()) {
                    int head = q.pop();
                    if (head == Virtqueue.MALFORMED) {
                        t.queueBroken(RX_QUEUE);
                        return;
                    }
                    if (head == Virtqueue.EMPTY) {
                        break;
                    }
                    DescriptorChain chain = q.chain();
                    if (chain.writableBytes() < VsockHeader.SIZE) {
                        t.needsReset("a vsock receive buffer has no room for a header");
                        return;
                    }
                    q.pushUsed(head, VsockHeader.SIZE + nextPacket(chain, memory));
                    delivered = true;
                }
                if (delivered) {
                    t.signalUsed(RX_QUEUE);
                }
                if (!owesGuest() || !q.armNotification()) {
                    return;  // nothing owed, or the driver's next buffers bring us back
                }
            }
        }
    }

    /** Writes the next packet owed into {@code chain}; returns its payload length. */
    private int nextPacket(DescriptorChain chain, GuestMemory memory) {
        VsockHeader h = rxHeader;
        h.srcCid = HOST_CID;
        h.dstCid = guestCid;
        h.type = VsockHeader.TYPE_STREAM;
        h.len = 0;
        h.flags = 0;
        h.bufAlloc = VsockConnection.BUFFER;
        if (strayCount > 0) {
            h.srcPort = strayLocal[strayStart];
            h.dstPort = strayPeer[strayStart];
            h.op = VsockHeader.OP_RST;
            h.fwdCnt = 0;
            strayStart = (strayStart + 1) % STRAY_RESETS;
            strayCount--;
            h.write(chain, memory);
            return 0;
        }
        VsockConnection c = null;
        for (int i = 0; i < connections.length && c == null; i++) {
            VsockConnection candidate = connections[(rxCursor + i) % connections.length];
            if (candidate != null && candidate.owesGuest()) {
                c = candidate;
                rxCursor = (rxCursor + i + 1) % connections.length;
            }
        }
        h.srcPort = c.localPort;
        h.dstPort = c.peerPort;
        h.fwdCnt = c.fwdCnt;
        c.fwdCntSent = c.fwdCnt;
        c.owesCreditUpdate = false;
        int payload = 0;
        if (c.state == State.CLOSING) {
            h.op = VsockHeader.OP_RST;
            forget(c);
        } else if (c.state == State.HOST_REQUESTED) {
            h.op = VsockHeader.OP_REQUEST;
            c.owesRequest = false;
        } else if (c.owesResponse) {
            h.op = VsockHeader.OP_RESPONSE;
            c.owesResponse = false;
        } else if (c.hasDataForGuest()) {
            h.op = VsockHeader.OP_RW;
            payload = (int) Math.min(Math.min(c.toGuest.size(), c.peerCredit()),
                    Math.min(chain.writableBytes() - VsockHeader.SIZE, MAX_PAYLOAD));
            wakeHost |= c.toGuest.space() == 0;
            h.len = payload;
            movePayload(chain, memory, payload, c.toGuest, true);
            c.txCnt = (c.txCnt + payload) & 0xFFFF_FFFFL;
        } else if (c.owesShutdown && c.toGuest.isEmpty()) {
            h.op = VsockHeader.OP_SHUTDOWN;
            h.flags = VsockHeader.SHUTDOWN_SEND;
            c.owesShutdown = false;
        } else {
            h.op = VsockHeader.OP_CREDIT_UPDATE;
        }
        h.write(chain, memory);
        return payload;
    }

    @Override
    public VirtioVsockState save() {
        synchronized (lock) {
            return new VirtioVsockState(VirtioVsockState.VERSION, guestCid, nextLocalPort);
        }
    }

    @Override
    public void restore(VirtioVsockState state) {
        if (state.version() != VirtioVsockState.VERSION || state.guestCid() != guestCid
                || state.nextLocalPort() < FIRST_LOCAL_PORT) {
            throw new IllegalArgumentException("virtio-vsock state " + state + " does not fit guest CID " + guestCid);
        }
        synchronized (lock) {
            dropAll();
            nextLocalPort = state.nextLocalPort();
            transportResetOwed = true;  // the guest's sockets of before the snapshot lost their peers
        }
        host.wakeup();
    }
}
