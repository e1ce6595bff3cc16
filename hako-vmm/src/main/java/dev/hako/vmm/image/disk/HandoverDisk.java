package dev.hako.vmm.image.disk;

import dev.hako.sys.HostFile;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A disk image a running machine can let go of and take again, as a live migration over shared storage needs: the
 * source {@linkplain #release releases} its images (flushed, closed: the qcow2 metadata written, QEMU's image lock
 * given up) before the destination {@linkplain #acquire opens} them, with their metadata read fresh. The size,
 * format and access the guest's device was built with are fixed: an image that no longer matches them is refused.
 *
 * <p>A snapshot point can also {@linkplain #continueOn move the disk onto an overlay} over its image: from then on
 * the disk is that qcow2 overlay (its path and format), the same size.
 *
 * <p>Released, every request fails (the machine is paused then, so none comes). The image behind is replaced only
 * while the machine is paused or not yet started, whose handshakes order it before the vCPU threads' next request;
 * a request costs a null check and one virtual call more than the image's own.
 */
public final class HandoverDisk implements DiskImage {
    private volatile Path path;
    private volatile DiskFormat format;
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

    /**
     * Acquires every one of {@code disks} or none: on the first that cannot be opened, those opened here are
     * released again and its {@link IOException} thrown.
     */
    public static void acquireAll(List<HandoverDisk> disks) throws IOException {
        List<HandoverDisk> taken = new ArrayList<>();
        try {
            for (HandoverDisk disk : disks) {
                if (!disk.held()) {
                    disk.acquire();
                    taken.add(disk);
                }
            }
        } catch (IOException | RuntimeException e) {
            for (HandoverDisk disk : taken) {
                try {
                    disk.release();
                } catch (IOException again) {
                    e.addSuppressed(again);
                }
            }
            throw e;
        }
    }

    /**
     * Freezes the image behind this writable disk under {@code overlay}, a qcow2 overlay over it
     * ({@link DiskOverlay#create}), and goes on with the overlay, while the machine is paused. The image is flushed,
     * its writer lock turned into a reader's in place, the overlay opened (its own writer lock, and a reader lock on
     * the image as its backing file), and only then is the image's writer closed: no other process can start
     * writing the frozen image in between. A failure leaves the disk on its image, which it writes as before; if
     * the image's writer lock cannot be taken back then (another reader came in), the disk is released instead
     * and the message says so.
     */
    public synchronized void continueOn(Path overlay) throws IOException {
        DiskImage frozen = open();
        if (readOnly) {
            throw new IllegalStateException(path + " is read-only: it needs no overlay");
        }
        frozen.flush();
        HostFile lock = switch (frozen) {
            case RawImage raw -> raw.hostFile();
            case Qcow2Image qcow2 -> qcow2.hostFile();
            default -> throw new IllegalStateException("a " + frozen.getClass().getSimpleName() + " has no file");
        };
        ImageLock.downgrade(lock);
        DiskImage next = null;
        try {
            next = DiskImages.open(overlay, DiskFormat.QCOW2, false);
            if (next.size() != size) {
                throw new IOException(overlay + ": the overlay holds " + next.size() + " bytes, the machine's disk "
                        + size);
            }
        } catch (IOException | RuntimeException e) {
            if (next != null) {
                next.close();
            }
            try {
                ImageLock.upgrade(lock);
            } catch (IOException lost) {
                image = null;
                frozen.close();
                throw new IOException(e.getMessage() + "; and " + path + " could not be locked for writing again ("
                        + lost.getMessage() + "), so the disk is released", e);
            }
            throw e;
        }
        image = next;
        path = overlay;
        format = DiskFormat.QCOW2;
        frozen.close(); // flushed and the machine paused: closing writes nothing more
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
