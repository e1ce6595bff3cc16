package dev.hako.vmm.image.disk;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * A disk image a running machine can let go of and take again, as a live migration over shared storage needs: the
 * source {@linkplain #release releases} its images (flushed, closed: the qcow2 metadata written, QEMU's image lock
 * given up) before the destination {@linkplain #acquire opens} them, with their metadata read fresh. The size,
 * format and access the guest's device was built with are fixed: an image that no longer matches them is refused.
 *
 * <p>Released, every request fails (the machine is paused then, so none comes). The image behind is replaced only
 * while the machine is paused or not yet started, whose handshakes order it before the vCPU threads' next request;
 * a request costs a null check and one virtual call more than the image's own.
 */
public final class HandoverDisk implements DiskImage {
    private final Path path;
    private final DiskFormat format;
    private final boolean readOnly;
    private final long size;
    /** The open image; null while released. */
    private DiskImage image;

    private HandoverDisk(Path path, DiskFormat format, boolean readOnly, long size, DiskImage image) {
        this.path = path;
        this.format = format;
        this.readOnly = readOnly;
        this.size = size;
        this.image = image;
    }

    /** {@code image}, opened now, behind a handover disk. */
    public static HandoverDisk of(DiskImage image) {
        return image instanceof HandoverDisk disk ? disk
                : new HandoverDisk(image.path(), image.format(), image.readOnly(), image.size(), image);
    }

    /** A disk whose image is not open yet: a migration's destination {@linkplain #acquire acquires} it. */
    public static HandoverDisk released(Path path, DiskFormat format, boolean readOnly, long size) {
        return new HandoverDisk(path, format, readOnly, size, null);
    }

    /** Whether the image is open here (not released). */
    public synchronized boolean held() {
        return image != null;
    }

    /**
     * Flushes and closes the image: its metadata is on disk and its lock free for another process. A failure
     * leaves the disk released when the image closed, held when it did not.
     */
    public synchronized void release() throws IOException {
        if (!held()) {
            return;
        }
        DiskImage open = image;
        try {
            open.flush();
        } finally {
            image = null;
            open.close();
        }
    }

    /**
     * Opens the image again (its lock taken, its metadata read fresh) and checks that it is still the disk the
     * guest's device was built with; an {@link IOException} naming the file when it is locked elsewhere, gone, or
     * different.
     */
    public synchronized void acquire() throws IOException {
        if (held()) {
            return;
        }
        DiskImage open = DiskImages.open(path, format, readOnly);
        try {
            if (open.size() != size) {
                throw new IOException(path + ": the image holds " + open.size() + " bytes, the machine's disk "
                        + size);
            }
            if (open.format() != format) {
                throw new IOException(path + ": the image is " + open.format().qemuName() + ", the machine's disk "
                        + format.qemuName());
            }
        } catch (IOException | RuntimeException e) {
            open.close();
            throw e;
        }
        image = open;
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public DiskFormat format() {
        return format;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    /** The open image; released, every request fails (none comes: the machine is paused then). */
    private DiskImage open() throws IOException {
        DiskImage open = image;
        if (open == null) {
            throw new IOException(path + ": the image is released (the guest is migrating)");
        }
        return open;
    }

    @Override
    public void read(long offset, MemorySegment memory, long memoryOffset, int length) throws IOException {
        open().read(offset, memory, memoryOffset, length);
    }

    @Override
    public void write(long offset, MemorySegment memory, long memoryOffset, int length) throws IOException {
        open().write(offset, memory, memoryOffset, length);
    }

    @Override
    public void flush() throws IOException {
        open().flush();
    }

    @Override
    public void discard(long offset, long length) throws IOException {
        open().discard(offset, length);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean unmap) throws IOException {
        open().writeZeroes(offset, length, unmap);
    }

    @Override
    public long nextData(long offset) throws IOException {
        return open().nextData(offset);
    }

    @Override
    public synchronized void close() throws IOException {
        DiskImage open = image;
        image = null;
        if (open != null) {
            open.close();
        }
    }
}
