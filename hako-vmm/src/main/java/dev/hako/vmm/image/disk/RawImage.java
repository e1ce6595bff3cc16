package dev.hako.vmm.image.disk;

import dev.hako.sys.HostFile;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A raw disk image: the file's bytes are the disk's bytes. Its size is the file's length rounded up to a whole
 * sector; what lies past the end of the file reads as zeroes. Discard punches a hole; write-zeroes punches one
 * (with unmap) or zeroes the range in place ({@code FALLOC_FL_ZERO_RANGE}), and writes zeroes where the file
 * system can do neither. Requests are serialised on the image.
 */
public final class RawImage implements DiskImage {
    private final Path path;
    private final HostFile file;
    private final boolean readOnly;
    private final long size;
    private boolean closed;

    RawImage(Path path, HostFile file, boolean readOnly) throws IOException {
        this.path = path;
        this.file = file;
        this.readOnly = readOnly;
        long length = file.size();
        this.size = (length + 511) & ~511L;
    }

    /** The image's file, for handing its lock over. */
    HostFile hostFile() {
        return file;
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public DiskFormat format() {
        return DiskFormat.RAW;
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
    public synchronized void read(long offset, MemorySegment memory, long memoryOffset, int length)
            throws IOException {
        checkRange(offset, length);
        Objects.checkFromIndexSize(memoryOffset, length, memory.byteSize());
        long n = file.read(offset, memory, memoryOffset, length);
        if (n < length) {
            Zeroes.fill(memory, memoryOffset + n, length - n);
        }
    }

    @Override
    public synchronized void write(long offset, MemorySegment memory, long memoryOffset, int length)
            throws IOException {
        checkWritable();
        checkRange(offset, length);
        file.write(offset, memory, memoryOffset, length);
    }

    @Override
    public synchronized void flush() throws IOException {
        if (!readOnly) {
            file.syncData();
        }
    }

    @Override
    public synchronized void discard(long offset, long length) throws IOException {
        checkWritable();
        checkRange(offset, length);
        file.punchHole(offset, length);
    }

    @Override
    public synchronized void writeZeroes(long offset, long length, boolean unmap) throws IOException {
        checkWritable();
        checkRange(offset, length);
        if (unmap && file.punchHole(offset, length) || file.zeroRange(offset, length)) {
            return;
        }
        for (long done = 0; done < length; ) {
            long n = Math.min(length - done, Zeroes.BLOCK.byteSize());
            file.write(offset + done, Zeroes.BLOCK, 0, n);
            done += n;
        }
    }

    /** SEEK_DATA: holes in the file are zeroes that a copy can skip. */
    @Override
    public synchronized long nextData(long offset) throws IOException {
        long data = file.nextData(offset);
        return data < 0 ? size : Math.min(data, size);
    }

    private void checkRange(long offset, long length) throws IOException {
        if (offset < 0 || length < 0 || offset > size - length) {
            throw new IOException(path + ": request at " + offset + " for " + length + " bytes is past the end"
                    + " of the " + size + "-byte disk");
        }
    }

    private void checkWritable() throws IOException {
        if (readOnly) {
            throw new IOException(path + ": opened read-only");
        }
    }

    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (!readOnly) {
                file.syncData();  // as QEMU's close: what the guest wrote is durable once the image is closed
            }
        } finally {
            file.close();
        }
    }
}
