package dev.hako.vmm.image.disk;

import static dev.hako.vmm.image.disk.Qcow2Format.*;

import dev.hako.sys.HostFile;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A qcow2 image, version 2 or 3 (QEMU's docs/interop/qcow2.txt), read and written: guest clusters mapped through
 * the L1 and L2 tables ({@link ClusterMap}), host clusters counted and allocated by the refcounts
 * ({@link Refcounts}), zlib-compressed clusters read ({@link CompressedClusters}), zero clusters (version 3) read
 * as zeroes and made by write-zeroes and discard, and an optional read-only backing image (raw or qcow2) that
 * unallocated clusters read from; a partial write to such a cluster first copies the rest of it up. Clusters
 * shared with internal snapshots or compressed are copied on write. Not implemented, and refused by name when
 * the image opens: encryption, external data files, extended L2 entries (subclusters), zstd compression; lazy
 * refcounts (a dirty image) and a corrupt-marked image open read-only only. Snapshots are kept but not made.
 *
 * <p>Crash safety. Guest data goes to the file at once; metadata changes stay in memory and are written in this
 * order, with an fdatasync between the steps: data and refcount increments, then L2 tables, then the L1 table;
 * references are released only after that ({@link Refcounts}). An L2 table evicted from the cache early goes
 * through the same barrier first. So whenever the process dies, each L1 and L2 entry on disk points to a
 * cluster whose contents and refcount were already durable, and no cluster in use has a refcount that was
 * dropped: {@code qemu-img check} may find leaked clusters, never corruption. {@link #flush} performs the whole
 * sequence, so every completed write is durable when it returns.
 *
 * <p>The request path allocates nothing: metadata tables live in preallocated caches, data moves between guest
 * memory and the file by address, and partial-cluster copies go through one preallocated cluster buffer.
 * Requests are serialised on the image.
 */
public final class Qcow2Image implements DiskImage {
    private static final int RUN_NONE = 0, RUN_HOST = 1, RUN_ZERO = 2, RUN_BACKING = 3;

    private final Path path;
    private final ImageFile file;
    private final boolean readOnly;
    private final boolean version3;
    private final int clusterBits;
    private final long clusterSize;
    private final long size;
    private final Arena arena;
    private final Refcounts refcounts;
    private final ClusterMap map;
    private final CompressedClusters compressed;
    private final DiskImage backing;
    private final long backingSize;
    private final MemorySegment bounce;
    /** Guest data waiting to be written with one pwrite: host offset, guest memory address, length. */
    private long runHost;
    private long runAddress;
    private long runLength;
    /**
     * Why writing stopped, or null. After corrupt metadata is found or a write, zeroing or flush fails half-way
     * (say ENOSPC after L2 entries already point to clusters whose data never arrived), the metadata in memory
     * must not reach the disk: the image stays as its last consistent state on disk, and writes are refused.
     */
    private String failure;
    private boolean closed;

    private Qcow2Image(Path path, ImageFile file, Qcow2Header header, boolean readOnly, DiskImage backing)
            throws IOException {
        this.path = path;
        this.file = file;
        this.readOnly = readOnly;
        this.version3 = header.version() >= 3;
        this.clusterBits = header.clusterBits();
        this.clusterSize = 1L << clusterBits;
        this.size = header.size() & ~511L;
        this.backing = backing;
        this.backingSize = backing == null ? 0 : backing.size();
        this.arena = Arena.ofShared();
        try {
            this.refcounts = new Refcounts(file, arena, header);
            this.map = new ClusterMap(file, arena, header, refcounts, new ClusterMap.MetadataOrder() {
                @Override
                public void beforeTableWrite() throws IOException {
                    syncDataAndRefcounts();
                }

                @Override
                public void release(long offset, long length) throws IOException {
                    releaseLater(offset, length);
                }
            });
            this.compressed = new CompressedClusters(file, arena, clusterBits);
            this.bounce = arena.allocate(clusterSize, 4096);
            if (!readOnly && header.autoclearFeatures() != 0) {
                // Bitmaps and other auto-clear features would go stale under our writes: clear their bits first.
                bounce.set(BE_LONG, 0, 0);
                file.write(HEADER_AUTOCLEAR_FEATURES, bounce, 0, 8);
                file.sync();
            }
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Opens a qcow2 image whose file is open and locked; {@code chain} lists the images above it (real paths),
     * for finding loops in a backing chain.
     */
    static Qcow2Image open(Path path, HostFile host, boolean readOnly, List<Path> chain) throws IOException {
        ImageFile file = new ImageFile(host);
        Qcow2Header header = Qcow2Header.read(file, !readOnly);
        DiskImage backing = null;
        if (header.backingFile() != null) {
            List<Path> below = new ArrayList<>(chain);
            below.add(path.toRealPath());
            backing = DiskImages.openBacking(path, header.backingFile(), header.backingFormat(), below);
        }
        try {
            return new Qcow2Image(path, file, header, readOnly, backing);
        } catch (IOException | RuntimeException e) {
            if (backing != null) {
                backing.close();
            }
            throw e;
        }
    }

    /** Creates (or overwrites) {@code path} as an empty version 3 qcow2 image and opens it for writing. */
    public static Qcow2Image create(Path path, long virtualSize, int clusterBits) throws IOException {
        return Qcow2Formatter.create(path, virtualSize, clusterBits, null, null);
    }

    /**
     * Creates (or overwrites) {@code path} as a version 3 qcow2 overlay over {@code backingFile} (stored as
     * given; a relative name is relative to the overlay's directory) and opens it for writing.
     * {@code backingFormat} null probes the backing file; {@code virtualSize} 0 takes the backing file's size.
     */
    public static Qcow2Image create(Path path, long virtualSize, int clusterBits, String backingFile,
            DiskFormat backingFormat) throws IOException {
        return Qcow2Formatter.create(path, virtualSize, clusterBits, Objects.requireNonNull(backingFile),
                backingFormat);
    }

    /** The image's own file (not its backing file's), for handing its lock over. */
    HostFile hostFile() {
        return file.host();
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public DiskFormat format() {
        return DiskFormat.QCOW2;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    public int clusterBits() {
        return clusterBits;
    }

    /** The backing image, or null. */
    public DiskImage backing() {
        return backing;
    }

    @Override
    public synchronized void read(long offset, MemorySegment memory, long memoryOffset, int length)
            throws IOException {
        checkRequest(offset, length);
        Objects.checkFromIndexSize(memoryOffset, length, memory.byteSize());
        int kind = RUN_NONE;
        long source = 0;
        long runMemory = memoryOffset;
        long runBytes = 0;
        while (length > 0) {
            long inCluster = offset & (clusterSize - 1);
            int n = (int) Math.min(length, clusterSize - inCluster);
            long entry = checked(map.entry(offset), offset);
            int next;
            long from = offset;
            if ((entry & OFLAG_COMPRESSED) != 0) {
                next = RUN_NONE;
            } else if ((entry & OFLAG_ZERO) != 0) {
                next = RUN_ZERO;
            } else if ((entry & OFFSET_MASK) == 0) {
                next = backing != null ? RUN_BACKING : RUN_ZERO;
            } else {
                next = RUN_HOST;
                from = dataOffset(entry, offset) + inCluster;
            }
            if (next != kind || (next == RUN_HOST && from != source + runBytes)) {
                readRun(kind, source, memory, runMemory, runBytes);
                kind = next;
                source = from;
                runMemory = memoryOffset;
                runBytes = 0;
            }
            if (next == RUN_NONE) {
                MemorySegment.copy(compressed.inflate(entry), inCluster, memory, memoryOffset, n);
            } else {
                runBytes += n;
            }
            offset += n;
            memoryOffset += n;
            length -= n;
        }
        readRun(kind, source, memory, runMemory, runBytes);
    }

    private void readRun(int kind, long source, MemorySegment memory, long memoryOffset, long length)
            throws IOException {
        switch (kind) {
            case RUN_HOST -> file.read(source, memory, memoryOffset, length);
            case RUN_ZERO -> Zeroes.fill(memory, memoryOffset, length);
            case RUN_BACKING -> readBacking(source, memory, memoryOffset, length);
            default -> {
            }
        }
    }

    /** The backing image's bytes; where the backing image is smaller than this one, zeroes. */
    private void readBacking(long offset, MemorySegment memory, long memoryOffset, long length)
            throws IOException {
        long available = Math.max(0, Math.min(length, backingSize - offset));
        if (available > 0) {
            backing.read(offset, memory, memoryOffset, (int) available);
        }
        Zeroes.fill(memory, memoryOffset + available, length - available);
    }

    @Override
    public synchronized void write(long offset, MemorySegment memory, long memoryOffset, int length)
            throws IOException {
        checkWritable();
        checkRequest(offset, length);
        Objects.checkFromIndexSize(memoryOffset, length, memory.byteSize());
        if (!memory.isNative()) {
            throw new IllegalArgumentException("disk I/O needs a native memory segment");
        }
        try {
            writeClusters(offset, memory, memoryOffset, length);
            issueRun();
        } catch (IOException | RuntimeException e) {
            fail(e);
            throw e;
        }
    }

    private void writeClusters(long offset, MemorySegment memory, long memoryOffset, long length)
            throws IOException {
        while (length > 0) {
            long inCluster = offset & (clusterSize - 1);
            long n = Math.min(length, clusterSize - inCluster);
            int slot = map.tableForWrite(offset);
            long entry = checked(map.entryAt(slot, offset), offset);
            if ((entry & (OFLAG_COMPRESSED | OFLAG_ZERO)) == 0 && (entry & OFLAG_COPIED) != 0) {
                addToRun(dataOffset(entry, offset) + inCluster, memory.address() + memoryOffset, n);
            } else {
                writeNewCluster(slot, offset - inCluster, entry, memory, memoryOffset, inCluster, n);
            }
            offset += n;
            memoryOffset += n;
            length -= n;
        }
    }

    /**
     * Writes to a guest cluster that has no host cluster of its own yet (unallocated, zero, compressed, or shared
     * with a snapshot): a new host cluster gets the guest's bytes and, around a partial write, the cluster's old
     * contents; then the L2 entry points to it and the old host clusters are released.
     */
    private void writeNewCluster(int slot, long clusterStart, long entry, MemorySegment memory,
            long memoryOffset, long inCluster, long n) throws IOException {
        boolean preallocatedZero = (entry & (OFLAG_COMPRESSED | OFLAG_ZERO | OFLAG_COPIED)) == (OFLAG_ZERO
                | OFLAG_COPIED) && (entry & OFFSET_MASK) != 0;
        long host = preallocatedZero ? dataOffset(entry, clusterStart) : refcounts.allocate(1);
        if (n == clusterSize) {
            addToRun(host, memory.address() + memoryOffset, n);
        } else {
            oldContents(entry, clusterStart);
            MemorySegment.copy(memory, memoryOffset, bounce, inCluster, n);
            file.write(host, bounce, 0, clusterSize);
        }
        map.setEntry(slot, clusterStart, host | OFLAG_COPIED);
        if (!preallocatedZero) {
            releaseCluster(entry);
        }
    }

    /** The guest cluster's contents before a write, into the bounce buffer. */
    private void oldContents(long entry, long clusterStart) throws IOException {
        if ((entry & OFLAG_COMPRESSED) != 0) {
            MemorySegment.copy(compressed.inflate(entry), 0, bounce, 0, clusterSize);
        } else if ((entry & OFLAG_ZERO) != 0) {
            Zeroes.fill(bounce, 0, clusterSize);
        } else if ((entry & OFFSET_MASK) == 0) {
            if (backing != null) {
                readBacking(clusterStart, bounce, 0, clusterSize);
            } else {
                Zeroes.fill(bounce, 0, clusterSize);
            }
        } else {
            file.read(dataOffset(entry, clusterStart), bounce, 0, clusterSize);
        }
    }

    /** Drops the reference an L2 entry held (to its host cluster, or to a compressed cluster's sectors). */
    private void releaseCluster(long entry) throws IOException {
        if ((entry & OFLAG_COMPRESSED) != 0) {
            releaseLater(compressed.sectorsStart(entry), compressed.sectorsLength(entry));
        } else if ((entry & OFFSET_MASK) != 0) {
            releaseLater(entry & OFFSET_MASK, clusterSize);
        }
    }

    private void releaseLater(long offset, long length) throws IOException {
        if (!refcounts.releaseLater(offset, length)) {
            commitMetadata();
            refcounts.releaseLater(offset, length);
        }
    }

    private void addToRun(long host, long address, long length) throws IOException {
        if (runLength > 0 && host == runHost + runLength && address == runAddress + runLength) {
            runLength += length;
            return;
        }
        issueRun();
        runHost = host;
        runAddress = address;
        runLength = length;
    }

    private void issueRun() throws IOException {
        if (runLength > 0) {
            long length = runLength;
            runLength = 0;
            file.write(runHost, runAddress, length);
        }
    }

    @Override
    public synchronized void writeZeroes(long offset, long length, boolean unmap) throws IOException {
        checkWritable();
        checkRequest(offset, length);
        try {
            zeroRange(offset, length, unmap, false);
            issueRun();
        } catch (IOException | RuntimeException e) {
            fail(e);
            throw e;
        }
    }

    @Override
    public synchronized void discard(long offset, long length) throws IOException {
        checkWritable();
        checkRequest(offset, length);
        try {
            zeroRange(offset, length, true, true);
            issueRun();
        } catch (IOException | RuntimeException e) {
            fail(e);
            throw e;
        }
    }

    /**
     * Write-zeroes and discard. Whole clusters become zero clusters (version 3) or unallocated ones; with
     * {@code unmap} false a cluster of our own keeps its host cluster, flagged zero. A discarded cluster of a
     * version 2 overlay shows the backing file again (discard leaves contents unspecified); write-zeroes there,
     * and on the partial clusters at either end, writes zeroes. Discard leaves partial clusters alone.
     */
    private void zeroRange(long offset, long length, boolean unmap, boolean discard) throws IOException {
        long end = offset + length;
        while (offset < end) {
            long inCluster = offset & (clusterSize - 1);
            long n = Math.min(end - offset, clusterSize - inCluster);
            boolean explicitZeroes = n < clusterSize || !version3 && backing != null && !discard;
            if (explicitZeroes) {
                if (!discard) {
                    writeClusters(offset, Zeroes.BLOCK, 0, n);
                }
            } else if (!map.mapped(offset) && (backing == null || !version3)) {
                n = Math.min(end, (offset & -map.tableSpan()) + map.tableSpan()) - offset;
            } else {
                zeroCluster(offset, unmap);
            }
            offset += n;
        }
    }

    private void zeroCluster(long offset, boolean unmap) throws IOException {
        long entry = checked(map.entry(offset), offset);
        boolean keep = version3 && !unmap && (entry & OFLAG_COMPRESSED) == 0 && (entry & OFLAG_COPIED) != 0
                && (entry & OFFSET_MASK) != 0;
        long zeroed = keep ? dataOffset(entry, offset) | OFLAG_COPIED | OFLAG_ZERO
                : version3 && backing != null ? OFLAG_ZERO : 0;
        if (zeroed == entry) {
            return;
        }
        int slot = map.tableForWrite(offset);
        entry = checked(map.entryAt(slot, offset), offset);
        map.setEntry(slot, offset, zeroed);
        if (!keep) {
            releaseCluster(entry);
        }
    }

    @Override
    public synchronized void flush() throws IOException {
        if (closed || readOnly) {
            return;
        }
        checkWritable();
        try {
            commitMetadata();
        } catch (IOException | RuntimeException e) {
            fail(e);
            throw e;
        }
    }

    private void fail(Exception e) {
        if (failure == null) {
            failure = String.valueOf(e.getMessage());
        }
    }

    /**
     * Makes every completed write durable, in the crash-safe order: data and refcounts, sync, L2 tables, sync,
     * L1 table, sync; then applies the queued releases (in memory, written with the next refcount writeback).
     */
    private void commitMetadata() throws IOException {
        issueRun();
        if (map.tablesDirty() || map.l1Dirty() || refcounts.releasesQueued()) {
            syncDataAndRefcounts();
            map.writebackTables();
            file.sync();
            map.writebackL1();
            file.sync();
            refcounts.applyReleases();
        }
        refcounts.writeback();
        file.sync();
    }

    private void syncDataAndRefcounts() throws IOException {
        issueRun();
        refcounts.writeback();
        file.sync();
    }

    /** The host offset of a standard cluster's data, checked: aligned, inside the file, not on metadata. */
    private long dataOffset(long entry, long guestOffset) throws IOException {
        long host = entry & OFFSET_MASK;
        if ((host & (clusterSize - 1)) != 0) {
            throw corruptEntry(guestOffset, "points to unaligned host offset " + host);
        }
        if (host >= file.length()) {
            throw corruptEntry(guestOffset, "points past the end of the file (host offset " + host + ")");
        }
        if (refcounts.overlapsFixedMetadata(host, clusterSize)) {
            throw corruptEntry(guestOffset, "points into the header, L1 table or refcount table (host offset "
                    + host + ")");
        }
        return host;
    }

    /** An L2 entry, checked for what no valid image has. */
    private long checked(long entry, long guestOffset) throws IOException {
        if ((entry & OFLAG_COMPRESSED) != 0) {
            return entry;
        }
        if ((entry & OFLAG_ZERO) != 0 && !version3) {
            throw corruptEntry(guestOffset, "has the zero flag, which version 2 images do not have");
        }
        if ((entry & OFFSET_MASK) == 0 && (entry & OFLAG_COPIED) != 0 && (entry & OFLAG_ZERO) == 0) {
            throw corruptEntry(guestOffset, "points into the image header (host offset 0)");
        }
        return entry;
    }

    private IOException corruptEntry(long guestOffset, String problem) {
        IOException e = Qcow2Header.corrupt(file, "the L2 entry for guest offset " + guestOffset + " " + problem);
        fail(e);
        return e;
    }

    private void checkRequest(long offset, long length) throws IOException {
        if (closed) {
            throw new IOException(path + ": image is closed");
        }
        if (offset < 0 || length < 0 || offset > size - length) {
            throw new IOException(path + ": request at " + offset + " for " + length + " bytes is past the end"
                    + " of the " + size + "-byte disk");
        }
    }

    private void checkWritable() throws IOException {
        if (readOnly) {
            throw new IOException(path + ": opened read-only");
        }
        if (failure != null) {
            throw new IOException(path + ": writes refused after an earlier failure (" + failure + ")");
        }
    }

    /** Flushes (a writable image), releases the lock and the backing image. */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        try {
            if (!readOnly && failure == null) {
                commitMetadata();
            }
        } finally {
            closed = true;
            compressed.close();
            file.close();
            arena.close();
            if (backing != null) {
                backing.close();
            }
        }
    }
}
