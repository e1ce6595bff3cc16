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
 * a request costs one virtual call more than the image's own.
 */
public final class HandoverDisk implements DiskImage {
    private final Path path;
    private final DiskFormat format;
    private final boolean readOnly;
    private final long size;
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
        HandoverDisk disk = new HandoverDisk(path, format, readOnly, size, null);
        disk.image = disk.new Released();
        return disk;
    }

    /** Whether the image is open here (not released). */
    public synchronized boolean held() {
        return !(image instanceof Released);
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
            open.close();
            image = new Released();
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

    @Override
    public void read(long offset, MemorySegment memory, long memoryOffset, int length) throws IOException {
        image.read(offset, memory, memoryOffset, length);
    }

    @Override
    public void write(long offset, MemorySegment memory, long memoryOffset, int length) throws IOException {
        image.write(offset, memory, memoryOffset, length);
    }

    @Override
    public void flush() throws IOException {
        image.flush();
    }

    @Override
    public void discard(long offset, long length) throws IOException {
        image.discard(offset, length);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean unmap) throws IOException {
        image.writeZeroes(offset, length, unmap);
    }

    @Override
    public long nextData(long offset) throws IOException {
        return image.nextData(offset);
    }

    @Override
    public synchronized void close() throws IOException {
        DiskImage open = image;
        image = new Released();
        open.close();
    }

    /** The image while none is open here: every request fails. */
    private final class Released implements DiskImage {
        private IOException released() {
            return new IOException(path + ": the image is released (the guest is migrating)");
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

        @Override
        public void read(long offset, MemorySegment memory, long memoryOffset, int length) throws IOException {
            throw released();
        }

        @Override
        public void write(long offset, MemorySegment memory, long memoryOffset, int length) throws IOException {
            throw released();
        }

        @Override
        public void flush() throws IOException {
            throw released();
        }

        @Override
        public void discard(long offset, long length) throws IOException {
            throw released();
        }

        @Override
        public void writeZeroes(long offset, long length, boolean unmap) throws IOException {
            throw released();
        }

        @Override
        public void close() {
            // nothing is open
        }
    }
}
