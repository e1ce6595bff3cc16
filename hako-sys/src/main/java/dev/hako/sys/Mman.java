package dev.hako.sys;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Gateway to {@code <sys/mman.h>}: reserving guest RAM lazily and mapping executable pages. */
public final class Mman {
    public static final int PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
    public static final int MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
            MAP_32BIT = 0x40, MAP_NORESERVE = 0x4000, MAP_FIXED_NOREPLACE = 0x100000;
    private static final long ENOMEM = 12, PAGE = 4096, LOW_LIMIT = 1L << 31;
    private static final long SYS_MMAP = 9, SYS_MPROTECT = 10, SYS_MUNMAP = 11, SYS_MADVISE = 28;
    public static final int MADV_DONTNEED = 4;

    private Mman() {}

    /**
     * Anonymous private memory of {@code size} bytes that the host commits only when touched, so a guest
     * gets a large RAM segment without paying for what it never uses. Zero-filled.
     */
    public static MemorySegment reserve(long size, int prot) {
        return anonymous(size, prot, MAP_NORESERVE);
    }

    /**
     * Anonymous private zero-filled memory in the host's low 2 GiB ({@code MAP_32BIT}), so that 32-bit
     * addresses and sign-extended 32-bit displacements reach it.
     */
    public static MemorySegment reserveLow(long size, int prot) {
        long address = Libc.syscall(SYS_MMAP, 0, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
        if (address == -ENOMEM) {
            // MAP_32BIT searches only the kernel's window from 1 to 2 GiB, and the JVM reserves its 1 GiB class
            // space at a random low address: when that covers the window, the rest of the low 2 GiB is still free.
            address = mapInLowGap(size, prot);
        }
        if (address < 0 && address > -4096) {
            throw new IllegalStateException("mmap of " + size + " bytes below 2 GiB failed: errno " + -address);
        }
        return MemorySegment.ofAddress(address).reinterpret(size);
    }

    /** Maps at the start of the first hole below 2 GiB (from /proc/self/maps) that the kernel lets us take. */
    private static long mapInLowGap(long size, int prot) {
        for (long[] hole : unmappedRanges(lowestMappableAddress(), LOW_LIMIT)) {
            if (hole[1] - hole[0] < size) {
                continue;
            }
            long address = Libc.syscall(SYS_MMAP, hole[0], size, prot,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
            if (address == hole[0]) {
                return address;
            }
            if (address >= 0 || address <= -4096) {
                release(MemorySegment.ofAddress(address).reinterpret(size)); // a kernel that took it as a hint
            }
        }
        return -ENOMEM;
    }

    /**
     * The start and end of each range of addresses from {@code from} to {@code to} that no mapping of this process
     * covers now (from /proc/self/maps), in address order; none when that file cannot be read.
     */
    static List<long[]> unmappedRanges(long from, long to) {
        List<long[]> mapped = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                String span = line.substring(0, line.indexOf(' '));
                int dash = span.indexOf('-');
                mapped.add(new long[] {Long.parseUnsignedLong(span.substring(0, dash), 16),
                        Long.parseUnsignedLong(span.substring(dash + 1), 16)});
            }
        } catch (IOException e) {
            return List.of();
        }
        mapped.sort((a, b) -> Long.compareUnsigned(a[0], b[0]));
        List<long[]> holes = new ArrayList<>();
        long cursor = from;
        for (long[] range : mapped) {
            if (Long.compareUnsigned(cursor, to) >= 0) {
                break;
            }
            if (Long.compareUnsigned(range[0], cursor) > 0) {
                holes.add(new long[] {cursor, Long.compareUnsigned(range[0], to) < 0 ? range[0] : to});
            }
            if (Long.compareUnsigned(range[1], cursor) > 0) {
                cursor = range[1];
            }
        }
        if (Long.compareUnsigned(cursor, to) < 0) {
            holes.add(new long[] {cursor, to});
        }
        return holes;
    }

    private static long lowestMappableAddress() {
        try {
            return Math.max(PAGE, Long.parseLong(Files.readString(Path.of("/proc/sys/vm/mmap_min_addr")).strip()));
        } catch (IOException | NumberFormatException e) {
            return 0x10000;
        }
    }

    private static MemorySegment anonymous(long size, int prot, int extraFlags) {
        long address = Libc.syscall(SYS_MMAP, 0, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | extraFlags, -1, 0);
        if (address < 0 && address > -4096) {
            throw new IllegalStateException("mmap of " + size + " bytes failed: errno " + -address);
        }
        return MemorySegment.ofAddress(address).reinterpret(size);
    }

    /**
     * A shared mapping of {@code size} bytes of the object behind {@code fd} from offset 0 (a device's
     * memory, such as a KVM vCPU's kvm_run page); throws with the errno on failure.
     */
    public static MemorySegment mapShared(int fd, long size) {
        long address = Libc.syscall(SYS_MMAP, 0, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (address < 0 && address > -4096) {
            throw new IllegalStateException("mmap of fd " + fd + " failed: " + Errno.describe(-address));
        }
        return MemorySegment.ofAddress(address).reinterpret(size);
    }

    /**
     * A private copy-on-write mapping of the first {@code size} bytes of the file {@code path}, readable and
     * writable: pages are read from the file when first touched, and writes stay in this process, so mapping costs
     * the same for any size. The file must be at least {@code size} long (touching beyond its end is SIGBUS); the
     * descriptor is closed once mapped. A {@link #discard}ed page reads from the file again, not as zeros.
     */
    public static MemorySegment mapPrivateFile(String path, long size) {
        int fd = Fcntl.open(path, Fcntl.O_RDONLY | Fcntl.O_CLOEXEC);
        if (fd < 0) {
            throw new IllegalStateException("cannot open " + path + ": " + Errno.describe(-fd));
        }
        try {
            long address = Libc.syscall(SYS_MMAP, 0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE,
                    fd, 0);
            if (address < 0 && address > -4096) {
                throw new IllegalStateException("mmap of " + path + " failed: " + Errno.describe(-address));
            }
            return MemorySegment.ofAddress(address).reinterpret(size);
        } finally {
            Fcntl.close(fd);
        }
    }

    /** Changes the protection of a page-aligned host range; throws with the errno on failure. */
    public static void protect(MemorySegment segment, int prot) {
        long r = Libc.syscall(SYS_MPROTECT, segment.address(), segment.byteSize(), prot, 0, 0, 0);
        if (r < 0) {
            throw new IllegalStateException("mprotect failed: errno " + -r);
        }
    }

    /** Gives a page-aligned range back to the host; it reads as zeros afterwards. */
    public static void discard(MemorySegment segment, long offset, long size) {
        long r = Libc.syscall(SYS_MADVISE, segment.address() + offset, size, MADV_DONTNEED, 0, 0, 0);
        if (r < 0) {
            throw new IllegalStateException("madvise failed: errno " + -r);
        }
    }

    /** Unmaps a range obtained from {@link #reserve} or {@link #mapPrivateFile}. */
    public static void release(MemorySegment segment) {
        long r = Libc.syscall(SYS_MUNMAP, segment.address(), segment.byteSize(), 0, 0, 0, 0);
        if (r < 0) {
            throw new IllegalStateException("munmap failed: errno " + -r);
        }
    }
}
