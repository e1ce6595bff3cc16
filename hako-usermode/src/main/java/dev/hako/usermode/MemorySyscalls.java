package dev.hako.usermode;

import static dev.hako.usermode.Errno.EBADF;
import static dev.hako.usermode.Errno.EEXIST;
import static dev.hako.usermode.Errno.EFAULT;
import static dev.hako.usermode.Errno.EINVAL;
import static dev.hako.usermode.Errno.ENODEV;
import static dev.hako.usermode.Errno.ENOMEM;

import dev.hako.sys.Libc;

/**
 * The address-space syscalls, all carried out in the guest's page map (no host mapping changes except
 * giving memory back): brk, mmap, munmap, mprotect, mremap, madvise, msync, mincore.
 *
 * <p>mmap: anonymous mappings (private or shared, which is the same with one process) and private file
 * mappings, whose contents are read from the file when mapped (later writes to the file are not seen).
 * Writable shared file mappings are refused with ENODEV, as by a file system without mmap support.
 */
final class MemorySyscalls {
    static final int MMAP = 9, MPROTECT = 10, MUNMAP = 11, BRK = 12, MREMAP = 25, MSYNC = 26, MINCORE = 27,
            MADVISE = 28;
    private static final int PROT_WRITE = 2;
    private static final int MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_SHARED_VALIDATE = 3, MAP_FIXED = 0x10,
            MAP_ANONYMOUS = 0x20, MAP_32BIT = 0x40, MAP_FIXED_NOREPLACE = 0x100000;
    private static final int MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2;
    private static final int MADV_DONTNEED = 4;
    private static final long PAGE_MASK = AddressSpace.PAGE - 1;
    private static final long LOW_2G = 0x40000000L, HIGH_2G = 0x80000000L;
    private static final long SYS_PREAD64 = 17;

    private MemorySyscalls() {}

    static void register(SyscallTable t) {
        t.add(BRK, (p, addr, a1, a2, a3, a4, a5) -> brk(p, addr));
        t.add(MMAP, MemorySyscalls::mmap);
        t.add(MUNMAP, (p, addr, len, a2, a3, a4, a5) -> munmap(p, addr, len));
        t.add(MPROTECT, (p, addr, len, prot, a3, a4, a5) -> mprotect(p, addr, len, prot));
        t.add(MREMAP, MemorySyscalls::mremap);
        t.add(MADVISE, (p, addr, len, advice, a3, a4, a5) -> madvise(p, addr, len, advice));
        t.add(MSYNC, (p, addr, len, flags, a3, a4, a5) -> (addr & PAGE_MASK) != 0 ? -EINVAL
                : p.space.allows(addr, len, 0) ? 0 : -ENOMEM);
        t.add(MINCORE, MemorySyscalls::mincore);
    }

    static long pageUp(long size) {
        return (size + PAGE_MASK) & ~PAGE_MASK;
    }

    private static long brk(GuestProcess p, long addr) {
        if (addr < p.brkStart || !AddressSpace.inRange(addr, 0)) {
            return p.brk;
        }
        long oldTop = pageUp(p.brk), newTop = pageUp(addr);
        if (newTop > oldTop) {
            if (!p.space.isFree(oldTop, newTop - oldTop)) {
                return p.brk;
            }
            p.space.map(oldTop, newTop - oldTop, AddressSpace.READ | AddressSpace.WRITE);
        } else if (newTop < oldTop) {
            p.space.unmap(newTop, oldTop - newTop);
        }
        p.brk = addr;
        return addr;
    }

    private static long mmap(GuestProcess p, long addr, long length, long prot, long flags, long fd, long offset) {
        int type = (int) flags & MAP_SHARED_VALIDATE;
        if (length <= 0 || (offset & PAGE_MASK) != 0 || type == 0 || length > AddressSpace.SIZE) {
            return length == 0 || type == 0 || (offset & PAGE_MASK) != 0 ? -EINVAL : -ENOMEM;
        }
        long size = pageUp(length);
        boolean anonymous = (flags & MAP_ANONYMOUS) != 0;
        int hostFd = anonymous ? -1 : p.fds.host(fd);
        if (!anonymous) {
            if (hostFd < 0) {
                return -EBADF;
            }
            if (type != MAP_PRIVATE && (prot & PROT_WRITE) != 0) {
                return -ENODEV;
            }
        }
        long where;
        if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0) {
            if ((addr & PAGE_MASK) != 0) {
                return -EINVAL;
            }
            if (!AddressSpace.inRange(addr, size) || addr == 0) {
                return -ENOMEM;
            }
            if ((flags & MAP_FIXED) == 0 && !p.space.isFree(addr, size)) {
                return -EEXIST;
            }
            where = addr;
        } else {
            long hint = addr & ~PAGE_MASK;
            if (hint != 0 && AddressSpace.inRange(hint, size) && p.space.isFree(hint, size)) {
                where = hint;
            } else if ((flags & MAP_32BIT) != 0) {
                where = p.space.findFree(size, LOW_2G, HIGH_2G);
            } else {
                where = p.space.findFree(size, p.mmapLow, p.mmapHigh);
            }
            if (where < 0) {
                return -ENOMEM;
            }
        }
        int finalProt = (int) prot & (AddressSpace.READ | AddressSpace.WRITE | AddressSpace.EXEC);
        if (anonymous) {
            p.space.map(where, size, finalProt);
            return where;
        }
        p.space.map(where, size, AddressSpace.READ | AddressSpace.WRITE);
        long r = fill(p, hostFd, where, length, offset);
        if (r < 0) {
            p.space.unmap(where, size);
            return r == -Errno.EISDIR ? -ENODEV : r;
        }
        p.space.setProtection(where, size, finalProt);
        return where;
    }

    /** Reads the file into a fresh mapping; beyond end of file the mapping stays zero. */
    private static long fill(GuestProcess p, int hostFd, long where, long length, long offset) {
        long done = 0;
        while (done < length) {
            long n = Libc.syscall(SYS_PREAD64, hostFd, p.space.base + where + done, length - done, offset + done,
                    0, 0);
            if (n == -Errno.EINTR) {
                continue;
            }
            if (n < 0) {
                return n;
            }
            if (n == 0) {
                break;
            }
            done += n;
        }
        return 0;
    }

    private static long munmap(GuestProcess p, long addr, long length) {
        if ((addr & PAGE_MASK) != 0 || length <= 0 || !AddressSpace.inRange(addr, pageUp(length))) {
            return -EINVAL;
        }
        p.space.unmap(addr, pageUp(length));
        return 0;
    }

    /**
     * The range check of mprotect and madvise: 0, or -EINVAL for an unaligned address or negative length,
     * or -ENOMEM when a page of the range is not mapped.
     */
    private static long mappedRangeError(GuestProcess p, long addr, long length) {
        if ((addr & PAGE_MASK) != 0 || length < 0) {
            return -EINVAL;
        }
        return p.space.allows(addr, pageUp(length), 0) ? 0 : -ENOMEM;
    }

    private static long mprotect(GuestProcess p, long addr, long length, long prot) {
        long error = mappedRangeError(p, addr, length);
        if (error != 0) {
            return error;
        }
        if ((prot & ~(7L | 0x03000000L)) != 0) {
            return -EINVAL;
        }
        p.space.setProtection(addr, pageUp(length), (int) prot & 7);
        return 0;
    }

    private static long mremap(GuestProcess p, long old, long oldLength, long newLength, long flags, long newAddr,
            long a5) {
        if ((old & PAGE_MASK) != 0 || (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)) != 0 || newLength <= 0
                || newLength > AddressSpace.SIZE || ((flags & MREMAP_FIXED) != 0 && (flags & MREMAP_MAYMOVE) == 0)) {
            return -EINVAL;
        }
        long oldSize = pageUp(oldLength), newSize = pageUp(newLength);
        if (oldSize == 0 || !p.space.allows(old, oldSize, 0)) {
            return -EFAULT;
        }
        int prot = p.space.protection(old + oldSize - 1) & 7;
        if ((flags & MREMAP_FIXED) == 0) {
            if (newSize <= oldSize) {
                p.space.unmap(old + newSize, oldSize - newSize);
                return old;
            }
            if (p.space.isFree(old + oldSize, newSize - oldSize)) {
                p.space.map(old + oldSize, newSize - oldSize, prot);
                return old;
            }
            if ((flags & MREMAP_MAYMOVE) == 0) {
                return -ENOMEM;
            }
        }
        long target;
        if ((flags & MREMAP_FIXED) != 0) {
            if ((newAddr & PAGE_MASK) != 0 || !AddressSpace.inRange(newAddr, newSize) || newAddr == 0
                    || (newAddr < old + oldSize && old < newAddr + newSize)) {
                return -EINVAL;
            }
            target = newAddr;
        } else {
            target = p.space.findFree(newSize, p.mmapLow, p.mmapHigh);
            if (target < 0) {
                return -ENOMEM;
            }
        }
        p.space.map(target, newSize, AddressSpace.READ | AddressSpace.WRITE);
        p.space.copy(old, target, Math.min(oldSize, newSize));
        p.space.unmap(old, oldSize);
        p.space.setProtection(target, newSize, prot);
        return target;
    }

    private static long madvise(GuestProcess p, long addr, long length, long advice) {
        long error = mappedRangeError(p, addr, length);
        if (error != 0) {
            return error;
        }
        long size = pageUp(length);
        if (advice == MADV_DONTNEED && size > 0) {
            p.space.discard(addr, size);
        }
        return 0;
    }

    private static long mincore(GuestProcess p, long addr, long length, long vec, long a3, long a4, long a5) {
        if ((addr & PAGE_MASK) != 0) {
            return -EINVAL;
        }
        long pages = pageUp(length) >>> 12;
        if (!p.space.allows(addr, pages << 12, 0)) {
            return -ENOMEM;
        }
        if (p.out(vec, pages) < 0) {
            return -EFAULT;
        }
        for (long k = 0; k < pages; k++) {
            p.space.ram.set(java.lang.foreign.ValueLayout.JAVA_BYTE, vec + k, (byte) 1);
        }
        return 0;
    }
}
