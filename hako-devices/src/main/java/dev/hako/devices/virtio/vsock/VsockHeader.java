package dev.hako.devices.virtio.vsock;

import dev.hako.core.memory.GuestMemory;
import dev.hako.devices.virtio.DescriptorChain;

/**
 * struct virtio_vsock_hdr (virtio 1.2 §5.10.6): the 44-byte little-endian header in front of every packet on the
 * receive and transmit queues, with the operations, socket types and shutdown flags it carries. One mutable
 * instance per queue is reused for every packet, so parsing and building headers allocates nothing.
 */
final class VsockHeader {
    static final int SIZE = 44;
    static final int SRC_CID = 0, DST_CID = 8, SRC_PORT = 16, DST_PORT = 20, LEN = 24, TYPE = 28, OP = 30,
            FLAGS = 32, BUF_ALLOC = 36, FWD_CNT = 40;
    static final int TYPE_STREAM = 1;
    static final int OP_INVALID = 0, OP_REQUEST = 1, OP_RESPONSE = 2, OP_RST = 3, OP_SHUTDOWN = 4, OP_RW = 5,
            OP_CREDIT_UPDATE = 6, OP_CREDIT_REQUEST = 7;
    /** SHUTDOWN flags: the sender will receive no more, send no more. */
    static final int SHUTDOWN_RECEIVE = 1, SHUTDOWN_SEND = 2;

    long srcCid;
    long dstCid;
    int srcPort;
    int dstPort;
    long len;
    int type;
    int op;
    int flags;
    long bufAlloc;
    long fwdCnt;

    /** Reads the header from the chain's first readable bytes (the caller checked there are {@link #SIZE}). */
    void read(DescriptorChain chain, GuestMemory memory) {
        srcCid = chain.readLe(memory, SRC_CID, 8);
        dstCid = chain.readLe(memory, DST_CID, 8);
        srcPort = (int) chain.readLe(memory, SRC_PORT, 4);
        dstPort = (int) chain.readLe(memory, DST_PORT, 4);
        len = chain.readLe(memory, LEN, 4);
        type = (int) chain.readLe(memory, TYPE, 2);
        op = (int) chain.readLe(memory, OP, 2);
        flags = (int) chain.readLe(memory, FLAGS, 4);
        bufAlloc = chain.readLe(memory, BUF_ALLOC, 4);
        fwdCnt = chain.readLe(memory, FWD_CNT, 4);
    }

    /** Writes the header into the chain's first writable bytes (the caller checked there are {@link #SIZE}). */
    void write(DescriptorChain chain, GuestMemory memory) {
        chain.writeLe(memory, SRC_CID, 8, srcCid);
        chain.writeLe(memory, DST_CID, 8, dstCid);
        chain.writeLe(memory, SRC_PORT, 4, srcPort);
        chain.writeLe(memory, DST_PORT, 4, dstPort);
        chain.writeLe(memory, LEN, 4, len);
        chain.writeLe(memory, TYPE, 2, type);
        chain.writeLe(memory, OP, 2, op);
        chain.writeLe(memory, FLAGS, 4, flags);
        chain.writeLe(memory, BUF_ALLOC, 4, bufAlloc);
        chain.writeLe(memory, FWD_CNT, 4, fwdCnt);
    }
}
