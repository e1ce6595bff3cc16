package dev.hako.devices.virtio.blk;

import dev.hako.core.memory.GuestMemory;
import dev.hako.core.state.Snapshotable;
import dev.hako.devices.backend.BlockBackend;
import dev.hako.devices.virtio.DescriptorChain;
import dev.hako.devices.virtio.VirtioDevice;
import dev.hako.devices.virtio.VirtioDeviceType;
import dev.hako.devices.virtio.VirtioFeatures;
import dev.hako.devices.virtio.VirtioTransport;
import dev.hako.devices.virtio.Virtqueue;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * A virtio block device (virtio 1.2 §5.2) over a {@link BlockBackend}: one request queue; read, write, flush,
 * get ID (the serial number, up to 20 bytes), discard and write zeroes (one segment per request, with the limits in
 * the configuration space); capacity, size_max, seg_max and blk_size in the configuration space; VIRTIO_BLK_F_RO
 * for a read-only backend, where writes, discards and write-zeroes complete with IOERR (§5.2.6.1).
 *
 * <p>Every request is checked against the capacity and its own shape before the backend sees it: a request whose
 * buffers are too short for its header and status byte breaks the protocol (DEVICE_NEEDS_RESET); one with a bad
 * type, flag, length or range completes with UNSUPP or IOERR; a backend error completes with IOERR. Data moves
 * straight between guest RAM and the backend; processing a request allocates nothing.
 *
 * <p>Not implemented: multiple queues (VIRTIO_BLK_F_MQ), geometry, topology, the writeback toggle
 * (VIRTIO_BLK_F_CONFIG_WCE: the cache is always write-back, made durable by flush), secure erase, zoned
 * devices, lifetime. Guest control: the request stream and nothing in the configuration space (all read-only).
 */
public final class VirtioBlock implements VirtioDevice, Snapshotable<VirtioBlockState> {
    public static final int DEVICE_ID = 2;
    public static final int CLASS_STORAGE_OTHER = 0x018000;
    /** Feature bits (§5.2.3). */
    public static final int F_SIZE_MAX = 1, F_SEG_MAX = 2, F_RO = 5, F_BLK_SIZE = 6, F_FLUSH = 9, F_DISCARD = 13,
            F_WRITE_ZEROES = 14;
    /** Request types and status values (§5.2.6). */
    public static final int T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8, T_DISCARD = 11, T_WRITE_ZEROES = 13;
    public static final int S_OK = 0, S_IOERR = 1, S_UNSUPP = 2;
    public static final int SECTOR = 512, HEADER_SIZE = 16, SEGMENT_SIZE = 16, ID_BYTES = 20;
    public static final int WRITE_ZEROES_UNMAP = 1;
    public static final int QUEUE_SIZE = 256, SEG_MAX = QUEUE_SIZE - 2, SIZE_MAX = 1 << 20, BLK_SIZE = 512;
    public static final int MAX_DISCARD_SECTORS = 0x3F_FFFF, MAX_WRITE_ZEROES_SECTORS = 0x3F_FFFF;
    /** Configuration space offsets (struct virtio_blk_config). */
    public static final int CFG_CAPACITY = 0x00, CFG_SIZE_MAX = 0x08, CFG_SEG_MAX = 0x0C, CFG_BLK_SIZE = 0x14,
            CFG_NUM_QUEUES = 0x22, CFG_MAX_DISCARD_SECTORS = 0x24, CFG_MAX_DISCARD_SEG = 0x28,
            CFG_DISCARD_ALIGNMENT = 0x2C, CFG_MAX_WRITE_ZEROES_SECTORS = 0x30, CFG_MAX_WRITE_ZEROES_SEG = 0x34,
            CFG_WRITE_ZEROES_MAY_UNMAP = 0x38, CONFIG_SIZE = 0x3C;
    /** Larger segments are moved in pieces of this size, so a length always fits the backend's int. */
    private static final int TRANSFER_PIECE = 1 << 30;
    private static final System.Logger LOG = System.getLogger("dev.hako.devices.virtio.blk");
    private static final VirtioDeviceType TYPE = new VirtioDeviceType(DEVICE_ID, CLASS_STORAGE_OTHER,
            1, QUEUE_SIZE, CONFIG_SIZE);

    private final BlockBackend backend;
    private final byte[] config = new byte[CONFIG_SIZE];
    private final byte[] id = new byte[ID_BYTES];
    private final long sectors;
    private final boolean readOnly;
    private long activeFeatures;
    private boolean reportedBackendError;
    /** Bytes the request being served wrote into the guest's buffers, its status byte included. */
    private long written;
    private long bytesRead, bytesWritten;

    /** @param serial the ID the guest reads with GET_ID (ASCII, at most 20 bytes) */
    public VirtioBlock(BlockBackend backend, String serial) {
        this.backend = backend;
        this.readOnly = backend.readOnly();
        this.sectors = backend.size() / SECTOR;
        byte[] ascii = serial.getBytes(StandardCharsets.US_ASCII);
        if (ascii.length > ID_BYTES) {
            throw new IllegalArgumentException("serial '" + serial + "' is longer than 20 bytes");
        }
        System.arraycopy(ascii, 0, id, 0, ascii.length);
        putConfig(CFG_CAPACITY, 8, sectors);
        putConfig(CFG_SIZE_MAX, 4, SIZE_MAX);
        putConfig(CFG_SEG_MAX, 4, SEG_MAX);
        putConfig(CFG_BLK_SIZE, 4, BLK_SIZE);
        putConfig(CFG_NUM_QUEUES, 2, 1);
        putConfig(CFG_MAX_DISCARD_SECTORS, 4, MAX_DISCARD_SECTORS);
        putConfig(CFG_MAX_DISCARD_SEG, 4, 1);
        putConfig(CFG_DISCARD_ALIGNMENT, 4, BLK_SIZE / SECTOR);
        putConfig(CFG_MAX_WRITE_ZEROES_SECTORS, 4, MAX_WRITE_ZEROES_SECTORS);
        putConfig(CFG_MAX_WRITE_ZEROES_SEG, 4, 1);
        putConfig(CFG_WRITE_ZEROES_MAY_UNMAP, 1, 1);
    }

    private void putConfig(int offset, int size, long value) {
        for (int i = 0; i < size; i++) {
            config[offset + i] = (byte) (value >>> (8 * i));
        }
    }

    @Override
    public VirtioDeviceType type() {
        return TYPE;
    }

    @Override
    public long features() {
        long f = 1L << F_SIZE_MAX | 1L << F_SEG_MAX | 1L << F_BLK_SIZE | 1L << F_FLUSH;
        return readOnly ? f | 1L << F_RO : f | 1L << F_DISCARD | 1L << F_WRITE_ZEROES;
    }

    @Override
    public long readConfig(int offset, int size) {
        long value = 0;
        for (int i = 0; i < size; i++) {
            value |= (config[offset + i] & 0xFFL) << (8 * i);
        }
        return value;
    }

    @Override
    public void writeConfig(int offset, int size, long value) {
        // every field is read-only without VIRTIO_BLK_F_CONFIG_WCE
    }

    @Override
    public void activate(long features) {
        activeFeatures = features;
    }

    @Override
    public void reset() {
        activeFeatures = 0;
    }

    @Override
    public void process(int queue, VirtioTransport transport) {
        Virtqueue q = transport.queue(queue);
        GuestMemory memory = transport.memory();
        do {
            int head;
            while ((head = q.pop()) >= 0) {
                DescriptorChain chain = q.chain();
                if (chain.readableBytes() < HEADER_SIZE || chain.writableBytes() < 1) {
                    transport.needsReset("a virtio-blk request has no room for its header or status byte");
                    return;
                }
                int status = serve(memory, chain);
                long statusAt = chain.writableBytes() - 1;
                chain.writeLe(memory, statusAt, 1, status);
                q.pushUsed(head, written);
            }
            if (head == Virtqueue.MALFORMED) {
                transport.queueBroken(queue);
                return;
            }
            transport.signalUsed(queue);
        } while (q.armNotification());
    }

    private int serve(GuestMemory memory, DescriptorChain chain) {
        int type = (int) chain.readLe(memory, 0, 4);
        long sector = chain.readLe(memory, 8, 8);
        written = 1;
        try {
            return switch (type) {
                case T_IN -> read(memory, chain, sector);
                case T_OUT -> write(memory, chain, sector);
                case T_FLUSH -> flush();
                case T_GET_ID -> getId(memory, chain);
                case T_DISCARD, T_WRITE_ZEROES -> discardOrZero(memory, chain, type);
                default -> S_UNSUPP;
            };
        } catch (IOException | RuntimeException e) {
            if (!reportedBackendError) {
                reportedBackendError = true;
                LOG.log(System.Logger.Level.WARNING, "virtio-blk: the disk image failed a request, which "
                        + "completes with an I/O error (further errors are not logged): " + e);
            }
            return S_IOERR;
        }
    }

    /** Bytes the guest read from the disk; written on the device's thread, read racily by statistics. */
    public long bytesRead() {
        return bytesRead;
    }

    /** Bytes the guest wrote to the disk. */
    public long bytesWritten() {
        return bytesWritten;
    }

    private boolean inRange(long sector, long bytes) {
        return bytes % SECTOR == 0 && sector >= 0 && sector <= sectors && bytes / SECTOR <= sectors - sector;
    }

    private int read(GuestMemory memory, DescriptorChain chain, long sector) throws IOException {
        long length = chain.writableBytes() - 1;
        if (!inRange(sector, length)) {
            return S_IOERR;
        }
        transfer(memory, chain, chain.readableSegments(), chain.segments(), 0, length, sector * SECTOR, false);
        bytesRead += length;
        written = length + 1;
        return S_OK;
    }

    private int write(GuestMemory memory, DescriptorChain chain, long sector) throws IOException {
        long length = chain.readableBytes() - HEADER_SIZE;
        if (readOnly || !inRange(sector, length)) {
            return S_IOERR;
        }
        transfer(memory, chain, 0, chain.readableSegments(), HEADER_SIZE, length, sector * SECTOR, true);
        bytesWritten += length;
        return S_OK;
    }

    /**
     * Moves {@code length} bytes between the disk at {@code diskOffset} and the chain's segments
     * {@code from..to-1}, starting {@code skip} bytes into them.
     */
    private void transfer(GuestMemory memory, DescriptorChain chain, int from, int to, long skip, long length,
                          long diskOffset, boolean toDisk) throws IOException {
        long left = length;
        long skipLeft = skip;
        long disk = diskOffset;
        for (int s = from; s < to && left > 0; s++) {
            long segment = chain.length(s);
            if (skipLeft >= segment) {
                skipLeft -= segment;
                continue;
            }
            long gpa = chain.address(s) + skipLeft;
            long n = Math.min(segment - skipLeft, left);
            skipLeft = 0;
            for (long done = 0; done < n; ) {
                int piece = (int) Math.min(n - done, TRANSFER_PIECE);
                if (toDisk) {
                    backend.write(disk, memory.segment(), gpa + done, piece);
                } else {
                    backend.read(disk, memory.segment(), gpa + done, piece);
                    memory.written(gpa + done, piece);
                }
                done += piece;
                disk += piece;
            }
            left -= n;
        }
    }

    private int flush() throws IOException {
        if (!readOnly) {
            backend.flush();
        }
        return S_OK;
    }

    private int getId(GuestMemory memory, DescriptorChain chain) {
        long room = Math.min(ID_BYTES, chain.writableBytes() - 1);
        for (int i = 0; i < room; i++) {
            chain.writeLe(memory, i, 1, id[i]);
        }
        written = room + 1;
        return S_OK;
    }

    private int discardOrZero(GuestMemory memory, DescriptorChain chain, int type) throws IOException {
        boolean discard = type == T_DISCARD;
        if (!VirtioFeatures.has(activeFeatures, discard ? F_DISCARD : F_WRITE_ZEROES)) {
            return S_UNSUPP;
        }
        if (readOnly) {
            return S_IOERR;
        }
        long bytes = chain.readableBytes() - HEADER_SIZE;
        if (bytes != SEGMENT_SIZE) {
            return bytes % SEGMENT_SIZE == 0 && bytes > 0 ? S_UNSUPP : S_IOERR;  // one segment per request
        }
        long sector = chain.readLe(memory, HEADER_SIZE, 8);
        long count = chain.readLe(memory, HEADER_SIZE + 8, 4);
        int flags = (int) chain.readLe(memory, HEADER_SIZE + 12, 4);
        boolean unmap = (flags & WRITE_ZEROES_UNMAP) != 0;
        if ((flags & ~WRITE_ZEROES_UNMAP) != 0 || (discard && unmap)) {
            return S_UNSUPP;
        }
        if (count > (discard ? MAX_DISCARD_SECTORS : MAX_WRITE_ZEROES_SECTORS) || !inRange(sector, count * SECTOR)) {
            return S_IOERR;
        }
        if (discard) {
            backend.discard(sector * SECTOR, count * SECTOR);
        } else {
            backend.writeZeroes(sector * SECTOR, count * SECTOR, unmap);
        }
        return S_OK;
    }

    @Override
    public VirtioBlockState save() {
        return new VirtioBlockState(VirtioBlockState.VERSION, activeFeatures);
    }

    @Override
    public void restore(VirtioBlockState state) {
        if (state.version() != VirtioBlockState.VERSION) {
            throw new IllegalArgumentException("virtio-blk state version " + state.version());
        }
        activeFeatures = state.activeFeatures();
    }
}
