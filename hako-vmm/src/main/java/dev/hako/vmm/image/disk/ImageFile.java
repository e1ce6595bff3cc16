package dev.hako.vmm.image.disk;

import dev.hako.sys.HostFile;
import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * A qcow2 image's host file as the format code sees it: its length, tracked as writes grow it (so entries that
 * point past the end are caught without a syscall), and whether anything was written since the last sync (so a
 * write barrier with nothing to order costs nothing).
 */
final class ImageFile {
    private final HostFile host;
    private long length;
    private boolean unsynced;

    ImageFile(HostFile host) throws IOException {
        this.host = host;
        this.length = host.size();
    }

    String name() {
        return host.name();
    }

    HostFile host() {
        return host;
    }

    long length() {
        return length;
    }

    /** Reads {@code length} bytes at {@code offset}; what lies past the end of the file reads as zeroes. */
    void read(long offset, MemorySegment memory, long memoryOffset, long length) throws IOException {
        long n = host.read(offset, memory, memoryOffset, length);
        if (n < length) {
            Zeroes.fill(memory, memoryOffset + n, length - n);
        }
    }

    void write(long offset, MemorySegment memory, long memoryOffset, long length) throws IOException {
        unsynced = true;
        host.write(offset, memory, memoryOffset, length);
        this.length = Math.max(this.length, offset + length);
    }

    /** Writes {@code length} bytes of native memory at {@code address}, which the caller has bounds-checked. */
    void write(long offset, long address, long length) throws IOException {
        unsynced = true;
        host.write(offset, address, length);
        this.length = Math.max(this.length, offset + length);
    }

    /** A write barrier: everything written so far is on stable storage before anything written after. */
    void sync() throws IOException {
        if (unsynced) {
            host.syncData();
            unsynced = false;
        }
    }

    void close() throws IOException {
        host.close();
    }
}
