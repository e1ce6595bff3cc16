package dev.hako.sys;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Gateway to {@code <unistd.h>} and {@code <fcntl.h>} for disk images: one open host file, read and written at
 * explicit offsets straight to and from native memory with {@code pread64}/{@code pwrite64} (raw syscalls, so a
 * request allocates nothing), {@code fdatasync}, {@code fallocate} (punching holes, zeroing ranges),
 * {@code ftruncate}, {@code lseek} (size, SEEK_DATA) and open-file-description byte locks ({@code F_OFD_SETLK},
 * the locks QEMU takes on its images). Short transfers and EINTR are retried; a failure becomes an
 * {@link IOException} naming the file, the operation and the errno.
 */
public final class HostFile implements AutoCloseable {
    private static final long SYS_CLOSE = 3, SYS_LSEEK = 8, SYS_PREAD64 = 17, SYS_PWRITE64 = 18, SYS_FCNTL = 72,
            SYS_FDATASYNC = 75, SYS_FTRUNCATE = 77, SYS_OPENAT = 257, SYS_FALLOCATE = 285;
    private static final int O_RDONLY = 0, O_RDWR = 2, O_CREAT = 0x40, O_CLOEXEC = 0x80000, AT_FDCWD = -100;
    private static final int SEEK_END = 2, SEEK_DATA = 3;
    private static final int FALLOC_FL_KEEP_SIZE = 0x01, FALLOC_FL_PUNCH_HOLE = 0x02, FALLOC_FL_ZERO_RANGE = 0x10;
    private static final int F_OFD_GETLK = 36, F_OFD_SETLK = 37;
    private static final short F_RDLCK = 0, F_WRLCK = 1, F_UNLCK = 2;
    private static final int ENOENT = 2, EINTR = 4, ENXIO = 6, EAGAIN = 11, EACCES = 13, EISDIR = 21,
            EINVAL = 22, EROFS = 30, ENOSYS = 38, EOPNOTSUPP = 95;
    /** Linux transfers at most this much in one read or write call. */
    private static final long MAX_TRANSFER = 0x7ffff000L;

    private final int fd;
    private final String name;
    private boolean closed;

    private HostFile(int fd, String name) {
        this.fd = fd;
        this.name = name;
    }

    /** Opens an existing file, for reading only or for reading and writing. */
    public static HostFile open(Path path, boolean writable) throws IOException {
        return openAt(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    }

    /** Opens {@code path} for reading and writing, creating it (mode 0644) when it does not exist. */
    public static HostFile create(Path path) throws IOException {
        return openAt(path, O_RDWR | O_CREAT | O_CLOEXEC);
    }

    private static HostFile openAt(Path path, int flags) throws IOException {
        String name = path.toString();
        long fd;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cName = arena.allocateFrom(name);
            do {
                fd = Libc.syscall(SYS_OPENAT, AT_FDCWD, cName.address(), flags, 0644, 0, 0);
            } while (fd == -EINTR);
        }
        if (fd < 0) {
            String problem = switch ((int) -fd) {
                case ENOENT -> "no such file, ";
                case EACCES -> "permission denied, ";
                case EISDIR -> "is a directory, ";
                case EROFS -> "read-only file system, ";
                default -> "";
            };
            throw new IOException(name + ": cannot open: " + problem + Errno.describe(-fd));
        }
        return new HostFile((int) fd, name);
    }

    /** The name the file was opened by, for messages. */
    public String name() {
        return name;
    }

    /** The file's current length in bytes (for a block device, the device's size). */
    public long size() throws IOException {
        long r = Libc.syscall(SYS_LSEEK, fd, 0, SEEK_END, 0, 0, 0);
        check(r, "lseek", 0);
        return r;
    }

    /**
     * Reads up to {@code length} bytes at {@code offset} into native memory at {@code address}; returns how many
     * were read, fewer than asked only at the end of the file.
     */
    public long read(long offset, long address, long length) throws IOException {
        long done = 0;
        while (done < length) {
            long r = Libc.syscall(SYS_PREAD64, fd, address + done, Math.min(length - done, MAX_TRANSFER),
                    offset + done, 0, 0);
            if (r == -EINTR) {
                continue;
            }
            check(r, "pread", offset + done);
            if (r == 0) {
                break;
            }
            done += r;
        }
        return done;
    }

    /** Writes {@code length} bytes from native memory at {@code address} to the file at {@code offset}. */
    public void write(long offset, long address, long length) throws IOException {
        long done = 0;
        while (done < length) {
            long r = Libc.syscall(SYS_PWRITE64, fd, address + done, Math.min(length - done, MAX_TRANSFER),
                    offset + done, 0, 0);
            if (r == -EINTR) {
                continue;
            }
            check(r, "pwrite", offset + done);
            if (r == 0) {
                throw new IOException(name + ": pwrite at " + (offset + done) + " wrote nothing");
            }
            done += r;
        }
    }

    /**
     * {@link #read(long, long, long)} into a native segment, the range checked against the segment so a wrong
     * offset can never reach memory outside it.
     */
    public long read(long offset, MemorySegment memory, long memoryOffset, long length) throws IOException {
        return read(offset, addressOf(memory, memoryOffset, length), length);
    }

    /** {@link #write(long, long, long)} from a native segment, the range checked against the segment. */
    public void write(long offset, MemorySegment memory, long memoryOffset, long length) throws IOException {
        write(offset, addressOf(memory, memoryOffset, length), length);
    }

    private static long addressOf(MemorySegment memory, long memoryOffset, long length) {
        if (!memory.isNative()) {
            throw new IllegalArgumentException("file I/O needs a native memory segment");
        }
        Objects.checkFromIndexSize(memoryOffset, length, memory.byteSize());
        return memory.address() + memoryOffset;
    }

    /** Every completed write's data (and the metadata needed to read it back) reaches stable storage. */
    public void syncData() throws IOException {
        long r;
        do {
            r = Libc.syscall(SYS_FDATASYNC, fd, 0, 0, 0, 0, 0);
        } while (r == -EINTR);
        check(r, "fdatasync", 0);
    }

    public void truncate(long length) throws IOException {
        long r;
        do {
            r = Libc.syscall(SYS_FTRUNCATE, fd, length, 0, 0, 0, 0);
        } while (r == -EINTR);
        check(r, "ftruncate", length);
    }

    /**
     * Deallocates the range, which reads as zeroes afterwards; the file's length stays. Returns false when the
     * file system cannot punch holes (nothing changed).
     */
    public boolean punchHole(long offset, long length) throws IOException {
        return fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length, "fallocate(PUNCH_HOLE)");
    }

    /**
     * Makes the range read as zeroes without writing them, keeping its space allocated. Returns false when the
     * file system cannot do it (nothing changed).
     */
    public boolean zeroRange(long offset, long length) throws IOException {
        return fallocate(FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, offset, length, "fallocate(ZERO_RANGE)");
    }

    private boolean fallocate(int mode, long offset, long length, String what) throws IOException {
        long r;
        do {
            r = Libc.syscall(SYS_FALLOCATE, fd, mode, offset, length, 0, 0);
        } while (r == -EINTR);
        if (r == -EOPNOTSUPP || r == -ENOSYS || r == -EINVAL) {
            return false;
        }
        check(r, what, offset);
        return true;
    }

    /**
     * The first offset at or after {@code offset} that holds data (SEEK_DATA), or -1 when only a hole follows;
     * where the file system cannot tell, {@code offset} itself (everything may be data).
     */
    public long nextData(long offset) throws IOException {
        long r = Libc.syscall(SYS_LSEEK, fd, offset, SEEK_DATA, 0, 0, 0);
        if (r == -ENXIO) {
            return -1;
        }
        if (r == -EINVAL || r == -EOPNOTSUPP) {
            return offset;
        }
        check(r, "lseek(SEEK_DATA)", offset);
        return r;
    }

    /**
     * Takes a shared (read) open-file-description lock on the byte at {@code offset}; it lasts until the file is
     * closed. Returns false when another open file holds an exclusive lock on it.
     */
    public boolean lockByteShared(long offset) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment lock = flock(arena, F_RDLCK, offset);
            long r = Libc.syscall(SYS_FCNTL, fd, F_OFD_SETLK, lock.address(), 0, 0, 0);
            if (r == -EAGAIN || r == -EACCES) {
                return false;
            }
            check(r, "fcntl(F_OFD_SETLK)", offset);
            return true;
        }
    }

    /** Drops this open file's lock on the byte at {@code offset}, if it holds one. */
    public void unlockByte(long offset) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment lock = flock(arena, F_UNLCK, offset);
            check(Libc.syscall(SYS_FCNTL, fd, F_OFD_SETLK, lock.address(), 0, 0, 0), "fcntl(F_OFD_SETLK, F_UNLCK)",
                    offset);
        }
    }

    /** Whether another open file description holds any lock on the byte at {@code offset} (F_OFD_GETLK). */
    public boolean byteLockedElsewhere(long offset) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment lock = flock(arena, F_WRLCK, offset);
            long r = Libc.syscall(SYS_FCNTL, fd, F_OFD_GETLK, lock.address(), 0, 0, 0);
            check(r, "fcntl(F_OFD_GETLK)", offset);
            return lock.get(ValueLayout.JAVA_SHORT, 0) != F_UNLCK;
        }
    }

    /** struct flock for one byte: l_type, l_whence (SEEK_SET), l_start, l_len, l_pid (0 for OFD locks). */
    private static MemorySegment flock(Arena arena, short type, long offset) {
        MemorySegment lock = arena.allocate(32, 8);
        lock.set(ValueLayout.JAVA_SHORT, 0, type);
        lock.set(ValueLayout.JAVA_SHORT, 2, (short) 0);
        lock.set(ValueLayout.JAVA_LONG, 8, offset);
        lock.set(ValueLayout.JAVA_LONG, 16, 1);
        lock.set(ValueLayout.JAVA_INT, 24, 0);
        return lock;
    }

    private void check(long result, String operation, long offset) throws IOException {
        if (result < 0) {
            throw new IOException(name + ": " + operation + " at offset " + offset + ": "
                    + Errno.describe(-result));
        }
    }

    /** Closes the file, which also drops its locks. Closing twice does nothing. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        long r = Libc.syscall(SYS_CLOSE, fd, 0, 0, 0, 0, 0);
        if (r < 0 && r != -EINTR) {
            throw new IOException(name + ": close: " + Errno.describe(-r));
        }
    }
}
