package dev.hako.devices.virtio.net;

import static dev.hako.devices.backend.NetBackend.VNET_HEADER;
import static dev.hako.devices.virtio.VirtioFeatures.has;

import dev.hako.core.memory.GuestMemory;
import dev.hako.core.state.Snapshotable;
import dev.hako.devices.backend.NetBackend;
import dev.hako.devices.virtio.DescriptorChain;
import dev.hako.devices.virtio.VirtioDevice;
import dev.hako.devices.virtio.VirtioDeviceType;
import dev.hako.devices.virtio.VirtioTransport;
import dev.hako.devices.virtio.Virtqueue;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;

/**
 * A network device (virtio 1.2 §5.1) with one receive and one transmit queue, whose frames go to a
 * {@link NetBackend} (passt, a TAP device).
 *
 * <p>Implemented: the MAC address in the configuration space (VIRTIO_NET_F_MAC), link status
 * (VIRTIO_NET_F_STATUS: up while the backend lives, down with a configuration change when it ends), mergeable
 * receive buffers (VIRTIO_NET_F_MRG_RXBUF: a frame spreads over as many receive chains as it needs, counted in
 * the first header's num_buffers), and, where the backend carries the virtio-net header (a TAP with
 * IFF_VNET_HDR), checksum offload both ways (CSUM, GUEST_CSUM) and TCP segmentation offload both ways
 * (HOST_TSO4/6, GUEST_TSO4/6, ECN), the header passed through unchanged. A backend without the header (passt)
 * gets bare frames: the device completes a checksum the guest left to it (CSUM), tells the guest that frames
 * from a backend whose checksums are known to be right need no checking (GUEST_CSUM, DATA_VALID), and gives
 * the guest the backend's MTU (VIRTIO_NET_F_MTU: passt's 65520, so a frame carries 64 KiB instead of 1.5). Not implemented: the
 * control queue (and so promiscuous/VLAN filtering, announcements, runtime offload changes), multiqueue, UFO,
 * hash reports, RSC, standby.
 *
 * <p>Snapshots ({@link VirtioNetState}): the activated features, the link status and the counters; the rings are
 * the transport's. The backend is not state: a restored card has a backend of its own (a new passt, the TAP
 * opened again), so connections the host side held (passt's NAT) do not survive unless the backend is handed over.
 * A frame the device held between the backend and a guest buffer is not saved, so at most one received frame is
 * lost, which the guest's protocols recover from as from any lost frame.
 *
 * <p>Guest control: the transmit chains (header and frame), the receive buffers, the negotiated features. A
 * transmitted frame shorter than an Ethernet header or longer than {@link #MAX_FRAME}, or whose header asks for
 * an offload that was not negotiated or points outside the frame, is dropped and counted ({@link #txDropped()});
 * a received frame that no buffer can hold (without mergeable buffers: one chain; with them: the whole ring) is
 * dropped and counted ({@link #rxDropped()}). A receive chain too short for the header, or broken rings, put the
 * device in DEVICE_NEEDS_RESET. Frames move through two buffers allocated once: nothing is allocated per frame.
 * Receiving is paced by the guest: when it has no receive buffers, the backend is not read, so frames wait in the
 * backend (passt's socket, the TAP's queue), never in hako.
 */
public final class VirtioNet implements VirtioDevice, Snapshotable<VirtioNetState>, AutoCloseable {
    public static final int DEVICE_ID = 1;
    /** PCI class "network controller, Ethernet". */
    public static final int CLASS_ETHERNET = 0x020000;
    public static final int RX_QUEUE = 0, TX_QUEUE = 1, QUEUE_SIZE = 256;
    /** Feature bits (§5.1.3). */
    public static final int F_CSUM = 0, F_GUEST_CSUM = 1, F_MTU = 3, F_MAC = 5, F_GUEST_TSO4 = 7, F_GUEST_TSO6 = 8,
            F_GUEST_ECN = 9, F_HOST_TSO4 = 11, F_HOST_TSO6 = 12, F_HOST_ECN = 13, F_MRG_RXBUF = 15, F_STATUS = 16;
    /** struct virtio_net_config (§5.1.4): mac[6], le16 status, le16 max_virtqueue_pairs, le16 mtu. */
    public static final int CFG_MAC = 0, CFG_STATUS = 6, CFG_MAX_PAIRS = 8, CFG_MTU = 10, CONFIG_SIZE = 12;
    public static final int STATUS_LINK_UP = 1;
    /** struct virtio_net_hdr_v1 (§5.1.6) field offsets and values. */
    public static final int HDR_FLAGS = 0, HDR_GSO_TYPE = 1, HDR_GSO_SIZE = 4, HDR_CSUM_START = 6,
            HDR_CSUM_OFFSET = 8, HDR_NUM_BUFFERS = 10;
    public static final int HDR_F_NEEDS_CSUM = 1, HDR_F_DATA_VALID = 2;
    public static final int GSO_NONE = 0, GSO_TCPV4 = 1, GSO_TCPV6 = 4, GSO_ECN = 0x80;
    /** An Ethernet header: the shortest frame that can go anywhere. */
    public static final int MIN_FRAME = 14;
    /** An Ethernet header, a VLAN tag and the largest IP packet (a TSO frame). */
    public static final int MAX_FRAME = 14 + 4 + 65535;
    /** The offloads a backend with the virtio-net header can take: everything TAP does. */
    public static final long TAP_OFFLOADS = 1L << F_CSUM | 1L << F_GUEST_CSUM | 1L << F_GUEST_TSO4
            | 1L << F_GUEST_TSO6 | 1L << F_GUEST_ECN | 1L << F_HOST_TSO4 | 1L << F_HOST_TSO6 | 1L << F_HOST_ECN;
    private static final VirtioDeviceType TYPE = new VirtioDeviceType(DEVICE_ID, CLASS_ETHERNET, 2, QUEUE_SIZE,
            CONFIG_SIZE);
    private static final int DELIVERED = 0, NO_BUFFERS = 1, DROPPED = 2, BROKEN = 3;
    /**
     * The most frames one pass over the receive queue handles, so that a backend with an endless supply (a flood
     * of frames too long for the buffers) cannot keep a vCPU in the device: the pump does the rest.
     */
    private static final int RX_BATCH = 256;

    private final MacAddress mac;
    private final NetBackend backend;
    private final Arena arena = Arena.ofShared();
    /** The frame on its way to the guest: the header at 0, the frame from {@link NetBackend#VNET_HEADER}. */
    private final MemorySegment rxSegment = arena.allocate(VNET_HEADER + MAX_FRAME, 64);
    private final ByteBuffer rxBuffer = rxSegment.asByteBuffer();
    private final MemorySegment txSegment = arena.allocate(VNET_HEADER + MAX_FRAME, 64);
    private final ByteBuffer txBuffer = txSegment.asByteBuffer();
    /** The chains one received frame took, until they are all found and returned together. */
    private final int[] rxHeads = new int[QUEUE_SIZE];
    private final long[] rxWritten = new long[QUEUE_SIZE];
    private final NetPump pump;
    private long features;
    /** Bytes of header and frame waiting in {@link #rxSegment}; 0 when none. */
    private int rxPending;
    private volatile boolean linkUp = true;
    private static final VarHandle LINK_UP;

    static {
        try {
            LINK_UP = MethodHandles.lookup().findVarHandle(VirtioNet.class, "linkUp", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
    private volatile long rxFrames, txFrames, rxDropped, txDropped, rxBytes, txBytes;

    /** A device with address {@code mac} on {@code backend}, which it closes when it is closed. */
    public VirtioNet(MacAddress mac, NetBackend backend) {
        this.mac = mac;
        this.backend = backend;
        this.pump = new NetPump(this, backend);
    }

    public MacAddress mac() {
        return mac;
    }

    /** The host side, for a migration that hands it over. */
    public NetBackend backend() {
        return backend;
    }

    @Override
    public VirtioDeviceType type() {
        return TYPE;
    }

    @Override
    public void connect(VirtioTransport transport) {
        pump.start(transport);
    }

    /** Stops the host thread and ends the backend. */
    @Override
    public void close() {
        pump.close();
        backend.close();
        // the buffers are freed with the arena only once no thread can be inside process()
        arena.close();
    }

    /**
     * With the virtio-net header the backend's own offloads; without it, transmit checksum offload (the device
     * completes the checksum, which is far cheaper in the host than in a soft-CPU guest), receive checksum
     * offload for a backend whose frames are known to carry correct checksums, and the backend's MTU.
     */
    @Override
    public long features() {
        long offered = 1L << F_MAC | 1L << F_STATUS | 1L << F_MRG_RXBUF;
        if (backend.vnetHeader()) {
            return offered | backend.offloads() & TAP_OFFLOADS;
        }
        offered |= 1L << F_CSUM;
        if (backend.checksummedFrames()) {
            offered |= 1L << F_GUEST_CSUM;
        }
        return backend.mtu() > 0 ? offered | 1L << F_MTU : offered;
    }

    @Override
    public long readConfig(int offset, int size) {
        long value = 0;
        for (int i = size - 1; i >= 0; i--) {
            value = value << 8 | configByte(offset + i);
        }
        return value;
    }

    private int configByte(int at) {
        if (at < CFG_STATUS) {
            return mac.octet(at);
        }
        return switch (at) {
            case CFG_STATUS -> linkUp ? STATUS_LINK_UP : 0;
            case CFG_MAX_PAIRS -> 1;
            case CFG_MTU -> backend.mtu() & 0xFF;
            case CFG_MTU + 1 -> backend.mtu() >>> 8 & 0xFF;
            default -> 0;
        };
    }

    @Override
    public void writeConfig(int offset, int size, long value) {
        // the MAC is read-only without VIRTIO_NET_F_CTRL_MAC_ADDR (and writable only by legacy drivers)
    }

    @Override
    public void activate(long negotiated) {
        features = negotiated;
        if (backend.vnetHeader()) {
            try {
                backend.enableOffloads(negotiated);
            } catch (IOException e) {
                System.getLogger("dev.hako.devices.virtio").log(System.Logger.Level.WARNING,
                        "virtio-net: the backend refused the guest''s offloads: {0}", e.getMessage());
            }
        }
    }

    @Override
    public VirtioNetState save() {
        return new VirtioNetState(VirtioNetState.VERSION, features, linkUp, rxFrames, txFrames, rxDropped, txDropped,
                rxBytes, txBytes);
    }

    @Override
    public void restore(VirtioNetState s) {
        if (s.version() != VirtioNetState.VERSION) {
            throw new IllegalArgumentException("virtio-net state version " + s.version());
        }
        rxPending = 0;
        linkUp = s.linkUp();
        rxFrames = s.rxFrames();
        txFrames = s.txFrames();
        rxDropped = s.rxDropped();
        txDropped = s.txDropped();
        rxBytes = s.rxBytes();
        txBytes = s.txBytes();
        if (s.activeFeatures() != 0) {
            activate(s.activeFeatures());
        } else {
            features = 0;
        }
    }

    /**
     * An active card's pump reads the backend at once: the restored guest posted its receive buffers before the
     * save and will not notify for them again. Called once the transport is restored, so the pump finds it live.
     */
    @Override
    public void restored() {
        if (features != 0) {
            pump.receiveWanted(true);
        }
    }

    @Override
    public void reset() {
        features = 0;
        rxPending = 0;
        pump.reset();
    }

    @Override
    public void process(int queue, VirtioTransport t) {
        if (queue == TX_QUEUE) {
            transmit(t);
        } else if (queue == RX_QUEUE) {
            receive(t);
        }
    }

    /** Frames given to the guest. */
    public long rxFrames() {
        return rxFrames;
    }

    /** Bytes of the frames given to the guest (without the virtio header). */
    public long rxBytes() {
        return rxBytes;
    }

    /** Bytes of the frames the guest sent that went to the backend. */
    public long txBytes() {
        return txBytes;
    }

    /** Frames the guest sent that went to the backend. */
    public long txFrames() {
        return txFrames;
    }

    /** Frames from the backend dropped: too long for the guest's buffers, malformed, or lost by the backend. */
    public long rxDropped() {
        return rxDropped + backend.dropped();
    }

    /** Frames from the guest dropped: malformed, not allowed by the negotiated features, or refused by the host. */
    public long txDropped() {
        return txDropped;
    }

    public boolean linkUp() {
        return linkUp;
    }

    /**
     * The backend ended (passt exited, the TAP went away): the link goes down and the driver is told, once, though
     * the receive pump and a kick's transmit may both see the end.
     */
    void backendEnded(VirtioTransport t) {
        if (LINK_UP.compareAndSet(this, true, false)) {
            t.configChanged();
        }
    }

    private void transmit(VirtioTransport t) {
        Virtqueue q = t.queue(TX_QUEUE);
        GuestMemory memory = t.memory();
        do {
            int head;
            while ((head = q.pop()) >= 0) {
                int length = takeFrame(q.chain(), memory);
                if (length > 0) {
                    int start = backend.vnetHeader() ? 0 : VNET_HEADER;
                    txBuffer.limit(length).position(start);
                    try {
                        if (!backend.send(txBuffer)) {
                            q.rewind(1);  // the backend is full: the frame stays in the ring until it has room
                            pump.transmitBlocked();
                            t.signalUsed(TX_QUEUE);
                            return;
                        }
                        txFrames++;
                        txBytes += length - VNET_HEADER;
                    } catch (IOException e) {
                        txDropped++;
                    }
                } else {
                    txDropped++;
                }
                q.pushUsed(head, 0);
            }
            if (head == Virtqueue.MALFORMED) {
                t.queueBroken(TX_QUEUE);
                return;
            }
            t.signalUsed(TX_QUEUE);
        } while (q.armNotification());
    }

    /**
     * Copies the chain's header and frame into {@link #txBuffer}, checks them, and for a backend without the header
     * completes the checksum the guest left to the device: the bytes of header and frame, or 0 for a frame to drop.
     */
    private int takeFrame(DescriptorChain chain, GuestMemory memory) {
        long total = chain.readableBytes();
        if (total < VNET_HEADER + MIN_FRAME || total > VNET_HEADER + MAX_FRAME) {
            return 0;
        }
        long at = 0;
        for (int s = 0; s < chain.readableSegments(); s++) {
            long length = chain.length(s);
            MemorySegment.copy(memory.segment(), chain.address(s), txSegment, at, length);
            at += length;
        }
        int frameLength = (int) total - VNET_HEADER;
        int flags = txSegment.get(ValueLayout.JAVA_BYTE, HDR_FLAGS) & 0xFF;
        int gso = txSegment.get(ValueLayout.JAVA_BYTE, HDR_GSO_TYPE) & 0xFF;
        if ((flags & HDR_F_NEEDS_CSUM) != 0) {
            int start = u16(txSegment, HDR_CSUM_START);
            long field = (long) start + u16(txSegment, HDR_CSUM_OFFSET);
            if (!has(features, F_CSUM) || field + 2 > frameLength) {
                return 0;
            }
            if (!backend.vnetHeader()) {
                InternetChecksum.complete(txSegment, VNET_HEADER + start, VNET_HEADER + field, total);
            }
        }
        if (gso != GSO_NONE && !gsoAllowed(gso, flags)) {
            return 0;
        }
        return (int) total;
    }

    /** Whether a segmentation request of {@code gso} type was negotiated and is well formed. */
    private boolean gsoAllowed(int gso, int flags) {
        if ((gso & GSO_ECN) != 0 && !has(features, F_HOST_ECN)) {
            return false;
        }
        int kind = gso & ~GSO_ECN;
        boolean negotiated = kind == GSO_TCPV4 && has(features, F_HOST_TSO4)
                || kind == GSO_TCPV6 && has(features, F_HOST_TSO6);
        return negotiated && (flags & HDR_F_NEEDS_CSUM) != 0 && u16(txSegment, HDR_GSO_SIZE) != 0;
    }

    private static int u16(MemorySegment segment, long offset) {
        return Short.toUnsignedInt(segment.get(ValueLayout.JAVA_SHORT_UNALIGNED, offset));
    }

    /**
     * Gives the guest the frames the backend has, as long as it has buffers for them. Without buffers it asks for
     * the driver's next notification and tells the pump to stop reading until then.
     */
    private void receive(VirtioTransport t) {
        Virtqueue q = t.queue(RX_QUEUE);
        boolean delivered = false;
        for (int handled = 0; ; handled++) {
            if (handled == RX_BATCH || rxPending == 0 && !fetch(t)) {
                pump.receiveWanted(true);
                break;
            }
            int outcome = deliver(q, t);
            if (outcome == BROKEN) {
                return;
            }
            if (outcome == NO_BUFFERS) {
                if (delivered) {
                    t.signalUsed(RX_QUEUE);
                    delivered = false;
                }
                if (q.armNotification()) {
                    continue;  // the driver added buffers meanwhile
                }
                pump.receiveWanted(false);
                break;
            }
            delivered |= outcome == DELIVERED;
        }
        if (delivered) {
            t.signalUsed(RX_QUEUE);
        }
    }

    /** Takes the backend's next frame into {@link #rxSegment}; false when it has none (or has ended). */
    private boolean fetch(VirtioTransport t) {
        while (linkUp) {
            int start = backend.vnetHeader() ? 0 : VNET_HEADER;
            rxBuffer.limit(rxBuffer.capacity()).position(start);
            int n;
            try {
                n = backend.receive(rxBuffer);
            } catch (IOException e) {
                n = -1;
            }
            if (n < 0) {
                backendEnded(t);
                return false;
            }
            if (n == 0) {
                return false;
            }
            int length = start + n;
            int flags = rxSegment.get(ValueLayout.JAVA_BYTE, HDR_FLAGS) & 0xFF;
            if (length < VNET_HEADER + MIN_FRAME
                    || start == 0 && (flags & HDR_F_NEEDS_CSUM) != 0 && !has(features, F_GUEST_CSUM)) {
                rxDropped++;
                continue;
            }
            if (start != 0) {
                rxSegment.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, 0L);
                rxSegment.set(ValueLayout.JAVA_INT_UNALIGNED, 8, 0);
                if (has(features, F_GUEST_CSUM)) {  // only offered for a backend whose checksums are right
                    rxSegment.set(ValueLayout.JAVA_BYTE, HDR_FLAGS, (byte) HDR_F_DATA_VALID);
                }
            }
            rxPending = length;
            return true;
        }
        return false;
    }

    /**
     * Writes the pending frame into as many receive chains as it needs (one without mergeable buffers) and returns
     * them; with too few chains available, gives them back and reports NO_BUFFERS.
     */
    private int deliver(Virtqueue q, VirtioTransport t) {
        GuestMemory memory = t.memory();
        boolean mergeable = has(features, F_MRG_RXBUF);
        long numBuffersAt = -1, numBuffersHighAt = -1;
        int chains = 0;
        long copied = 0;
        while (copied < rxPending) {
            if (chains == q.size() || chains > 0 && !mergeable) {
                q.rewind(chains);  // larger than every buffer the guest can post: it never fits
                rxPending = 0;
                rxDropped++;
                return DROPPED;
            }
            int head = q.pop();
            if (head == Virtqueue.MALFORMED) {
                t.queueBroken(RX_QUEUE);
                return BROKEN;
            }
            if (head == Virtqueue.EMPTY) {
                q.rewind(chains);
                return NO_BUFFERS;
            }
            DescriptorChain chain = q.chain();
            if (chains == 0) {
                if (chain.writableBytes() < VNET_HEADER) {
                    t.needsReset("a virtio-net receive buffer has no room for the header");
                    return BROKEN;
                }
                numBuffersAt = writableAddress(chain, HDR_NUM_BUFFERS);
                numBuffersHighAt = writableAddress(chain, HDR_NUM_BUFFERS + 1);
            }
            long written = copyInto(chain, memory, copied, rxPending - copied);
            rxHeads[chains] = head;
            rxWritten[chains] = written;
            chains++;
            copied += written;
        }
        memory.setU8(numBuffersAt, chains);
        memory.setU8(numBuffersHighAt, chains >>> 8);
        for (int i = 0; i < chains; i++) {
            q.pushUsed(rxHeads[i], rxWritten[i]);
        }
        rxBytes += rxPending - VNET_HEADER;
        rxPending = 0;
        rxFrames++;
        return DELIVERED;
    }

    /** Copies up to {@code length} bytes of the pending frame from {@code from} into the chain's writable part. */
    private long copyInto(DescriptorChain chain, GuestMemory memory, long from, long length) {
        long done = 0;
        for (int s = chain.readableSegments(); s < chain.segments() && done < length; s++) {
            long n = Math.min(chain.length(s), length - done);
            MemorySegment.copy(rxSegment, from + done, memory.segment(), chain.address(s), n);
            memory.written(chain.address(s), n);
            done += n;
        }
        return done;
    }

    /** The guest-physical address of byte {@code offset} of the chain's writable part (within it). */
    private static long writableAddress(DescriptorChain chain, long offset) {
        long left = offset;
        for (int s = chain.readableSegments(); s < chain.segments(); s++) {
            if (left < chain.length(s)) {
                return chain.address(s) + left;
            }
            left -= chain.length(s);
        }
        throw new IndexOutOfBoundsException("offset " + offset + " is past the chain's writable bytes");
    }
}
