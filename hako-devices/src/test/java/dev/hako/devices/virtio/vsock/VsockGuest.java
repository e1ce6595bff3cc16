package dev.hako.devices.virtio.vsock;

import static dev.hako.devices.virtio.VirtioTestDriver.DATA;

import dev.hako.core.memory.GuestMemory;
import dev.hako.devices.virtio.VirtioTestDriver;
import dev.hako.devices.virtio.Virtqueue;
import java.util.concurrent.TimeUnit;

/**
 * A guest vsock driver in miniature over a {@link VirtioTestDriver}: it keeps the receive queue stocked with
 * 4 KiB buffers (header and payload in one descriptor, as Linux 6.x does), sends packets on the transmit queue
 * (header and payload in two descriptors) and reads the event queue.
 */
final class VsockGuest {
    static final int RX = VirtioVsock.RX_QUEUE, TX = VirtioVsock.TX_QUEUE, EVENT = VirtioVsock.EVENT_QUEUE;
    static final int QUEUE = 64, RX_BUFFER = 4096;
    static final long RX_AREA = DATA, TX_AREA = DATA + 0x10_0000, EVENT_AREA = DATA + 0x20_0000;

    /** One packet the device put in a receive buffer. */
    record Packet(long srcCid, long dstCid, int srcPort, int dstPort, int op, int flags, long bufAlloc,
            long fwdCnt, byte[] payload) {}

    final VirtioTestDriver driver;
    final GuestMemory memory;
    final long cid;
    private int rxSeen;
    private int txNext;

    VsockGuest(VirtioTestDriver driver, long cid) {
        this.driver = driver;
        this.memory = driver.memory;
        this.cid = cid;
    }

    /** Negotiates, sets up the three queues, stocks the receive and event queues and sets DRIVER_OK. */
    void start(int rxBuffers) {
        driver.negotiate(driver.deviceFeatures());
        for (int q = 0; q < 3; q++) {
            driver.setupQueue(q, QUEUE, q);
        }
        driver.driverOk();
        for (int i = 0; i < rxBuffers; i++) {
            driver.queueDescriptor(RX, i, RX_AREA + (long) RX_BUFFER * i, RX_BUFFER, Virtqueue.DESC_F_WRITE, 0);
            driver.publish(RX, i);
        }
        driver.queueDescriptor(EVENT, 0, EVENT_AREA, 4, Virtqueue.DESC_F_WRITE, 0);
        driver.publish(EVENT, 0);
        driver.kick(RX);
    }

    /** Sends one packet from this guest to the host (CID 2). */
    void send(int op, int srcPort, int dstPort, byte[] payload, int flags, long bufAlloc, long fwdCnt) {
        sendRaw(cid, VirtioVsock.HOST_CID, VsockHeader.TYPE_STREAM, op, srcPort, dstPort, payload, flags, bufAlloc,
                fwdCnt);
    }

    void sendRaw(long srcCid, long dstCid, int type, int op, int srcPort, int dstPort, byte[] payload, int flags,
            long bufAlloc, long fwdCnt) {
        long header = TX_AREA;
        memory.setU64(header, srcCid);
        memory.setU64(header + 8, dstCid);
        memory.setU32(header + 16, srcPort & 0xFFFF_FFFFL);
        memory.setU32(header + 20, dstPort & 0xFFFF_FFFFL);
        memory.setU32(header + 24, payload.length);
        memory.setU16(header + 28, type);
        memory.setU16(header + 30, op);
        memory.setU32(header + 32, flags);
        memory.setU32(header + 36, bufAlloc);
        memory.setU32(header + 40, fwdCnt);
        int first = (txNext * 2) % QUEUE;
        txNext++;
        if (payload.length == 0) {
            driver.queueDescriptor(TX, first, header, VsockHeader.SIZE, 0, 0);
        } else {
            memory.write(TX_AREA + 0x100, payload, 0, payload.length);
            driver.queueDescriptor(TX, first, header, VsockHeader.SIZE, Virtqueue.DESC_F_NEXT, first + 1);
            driver.queueDescriptor(TX, first + 1, TX_AREA + 0x100, payload.length, 0, 0);
        }
        driver.publish(TX, first);
        driver.kick(TX);
    }

    /** The next packet the device delivered (the buffer goes back to the device), or null after the timeout. */
    Packet receive(long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (driver.usedIdx(RX) == (rxSeen & 0xFFFF)) {
            if (System.nanoTime() > deadline) {
                return null;
            }
            Thread.sleep(1);
        }
        int id = (int) driver.usedId(RX, rxSeen);
        long length = driver.usedLength(RX, rxSeen);
        rxSeen++;
        long at = RX_AREA + (long) RX_BUFFER * id;
        int len = (int) memory.getU32(at + 24);
        if (length != VsockHeader.SIZE + len) {
            throw new AssertionError("used length " + length + " for a packet of " + len + " payload bytes");
        }
        byte[] payload = new byte[len];
        memory.read(at + VsockHeader.SIZE, payload, 0, len);
        Packet p = new Packet(memory.getU64(at), memory.getU64(at + 8), (int) memory.getU32(at + 16),
                (int) memory.getU32(at + 20), memory.getU16(at + 30), (int) memory.getU32(at + 32),
                memory.getU32(at + 36), memory.getU32(at + 40), payload);
        driver.publish(RX, id);
        driver.kick(RX);
        return p;
    }

    /** Whether the event queue's one buffer came back holding TRANSPORT_RESET. */
    boolean transportResetSeen() {
        return driver.usedIdx(EVENT) > 0 && driver.usedLength(EVENT, 0) == 4
                && memory.getU32(EVENT_AREA) == VirtioVsock.EVENT_TRANSPORT_RESET;
    }
}
