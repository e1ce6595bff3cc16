package dev.hako.usermode;

import static dev.hako.usermode.Errno.EBADF;
import static dev.hako.usermode.Errno.EFAULT;
import static dev.hako.usermode.Errno.EINVAL;
import static dev.hako.usermode.Errno.ENOTTY;

import dev.hako.sys.Libc;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Syscalls on open file descriptors: data transfer, fd management, fcntl and terminal ioctls. The guest fd
 * becomes its host fd and guest buffers their host addresses after a check; the host kernel does the rest,
 * and its struct layouts are the guest's (same architecture).
 */
final class FileSyscalls {
    static final int READ = 0, WRITE = 1, CLOSE = 3, FSTAT = 5, LSEEK = 8, IOCTL = 16, PREAD64 = 17, PWRITE64 = 18,
            READV = 19, WRITEV = 20, PIPE = 22, DUP = 32, DUP2 = 33, SENDFILE = 40, FCNTL = 72, FLOCK = 73,
            FSYNC = 74, FDATASYNC = 75, FTRUNCATE = 77, FCHMOD = 91, FCHOWN = 93, FSTATFS = 138, GETDENTS64 = 217,
            FADVISE64 = 221, FALLOCATE = 285, DUP3 = 292, PIPE2 = 293, PREADV = 295, PWRITEV = 296;
    private static final int O_CLOEXEC = 0x80000, O_NONBLOCK = 0x800;
    private static final long MAX_RW = 0x7FFFF000L;
    private static final int IOV_MAX = 1024;

    private FileSyscalls() {}

    static void register(SyscallTable t) {
        t.add(READ, (p, fd, buf, count, a3, a4, a5) -> transfer(p, READ, fd, buf, count, 0));
        t.add(WRITE, (p, fd, buf, count, a3, a4, a5) -> transfer(p, WRITE, fd, buf, count, 0));
        t.add(PREAD64, (p, fd, buf, count, off, a4, a5) -> transfer(p, PREAD64, fd, buf, count, off));
        t.add(PWRITE64, (p, fd, buf, count, off, a4, a5) -> transfer(p, PWRITE64, fd, buf, count, off));
        t.add(READV, (p, fd, iov, cnt, a3, a4, a5) -> vector(p, READV, fd, iov, cnt, 0, 0));
        t.add(WRITEV, (p, fd, iov, cnt, a3, a4, a5) -> vector(p, WRITEV, fd, iov, cnt, 0, 0));
        t.add(PREADV, (p, fd, iov, cnt, lo, hi, a5) -> vector(p, PREADV, fd, iov, cnt, lo, hi));
        t.add(PWRITEV, (p, fd, iov, cnt, lo, hi, a5) -> vector(p, PWRITEV, fd, iov, cnt, lo, hi));
        t.add(CLOSE, (p, fd, a1, a2, a3, a4, a5) -> p.fds.close(fd));
        t.add(LSEEK, (p, fd, off, whence, a3, a4, a5) -> onFd(p, LSEEK, fd, off, whence, 0));
        t.add(FSTAT, (p, fd, buf, a2, a3, a4, a5) -> withBuffer(p, FSTAT, fd, buf, 144));
        t.add(FSTATFS, (p, fd, buf, a2, a3, a4, a5) -> withBuffer(p, FSTATFS, fd, buf, 120));
        t.add(GETDENTS64, FileSyscalls::getdents64);
        t.add(FTRUNCATE, (p, fd, len, a2, a3, a4, a5) -> onFd(p, FTRUNCATE, fd, len, 0, 0));
        t.add(FSYNC, (p, fd, a1, a2, a3, a4, a5) -> onFd(p, FSYNC, fd, 0, 0, 0));
        t.add(FDATASYNC, (p, fd, a1, a2, a3, a4, a5) -> onFd(p, FDATASYNC, fd, 0, 0, 0));
        t.add(FCHMOD, (p, fd, mode, a2, a3, a4, a5) -> onFd(p, FCHMOD, fd, mode, 0, 0));
        t.add(FCHOWN, (p, fd, uid, gid, a3, a4, a5) -> onFd(p, FCHOWN, fd, uid, gid, 0));
        t.add(FLOCK, (p, fd, op, a2, a3, a4, a5) -> onFd(p, FLOCK, fd, op, 0, 0));
        t.add(FADVISE64, (p, fd, off, len, advice, a4, a5) -> onFd(p, FADVISE64, fd, off, len, advice));
        t.add(FALLOCATE, (p, fd, mode, off, len, a4, a5) -> onFd(p, FALLOCATE, fd, mode, off, len));
        t.add(SENDFILE, FileSyscalls::sendfile);
        t.add(DUP, (p, fd, a1, a2, a3, a4, a5) -> dupAbove(p, fd, 0, false));
        t.add(DUP2, (p, fd, newFd, a2, a3, a4, a5) -> fd == newFd
                ? (p.fds.host(fd) < 0 ? -EBADF : newFd) : dupTo(p, fd, newFd, 0));
        t.add(DUP3, (p, fd, newFd, flags, a3, a4, a5) -> fd == newFd || (flags & ~O_CLOEXEC) != 0 ? -EINVAL
                : dupTo(p, fd, newFd, flags));
        t.add(PIPE, (p, fds, a1, a2, a3, a4, a5) -> pipe(p, fds, 0));
        t.add(PIPE2, (p, fds, flags, a2, a3, a4, a5) -> pipe(p, fds, flags));
        t.add(FCNTL, FileSyscalls::fcntl);
        t.add(IOCTL, FileSyscalls::ioctl);
    }

    /** A host syscall whose first argument is an fd and the rest plain values. */
    static long onFd(GuestProcess p, int nr, long fd, long a1, long a2, long a3) {
        int h = p.fds.host(fd);
        return h < 0 ? -EBADF : Libc.syscall(nr, h, a1, a2, a3, 0, 0);
    }

    /** A host syscall (fd, struct out) with a fixed-size struct. */
    static long withBuffer(GuestProcess p, int nr, long fd, long buf, long size) {
        int h = p.fds.host(fd);
        if (h < 0) {
            return -EBADF;
        }
        long host = p.out(buf, size);
        return host < 0 ? -EFAULT : Libc.syscall(nr, h, host, 0, 0, 0, 0);
    }

    private static long transfer(GuestProcess p, int nr, long fd, long buf, long count, long offset) {
        int h = p.fds.host(fd);
        if (h < 0) {
            return -EBADF;
        }
        boolean fills = nr == READ || nr == PREAD64;
        long length = Math.min(Long.compareUnsigned(count, MAX_RW) > 0 ? MAX_RW : count, MAX_RW);
        long usable = p.space.accessiblePrefix(buf, length, fills ? AddressSpace.WRITE : AddressSpace.READ);
        if (length > 0 && usable == 0) {
            return -EFAULT;
        }
        if ((nr == READ || nr == WRITE) && usable > 0) {
            long waited = awaitReady(h, fills);
            if (waited < 0) {
                return waited;
            }
        }
        long host = fills ? p.out(buf, usable) : p.in(buf, usable);
        long r = Libc.syscall(nr, h, host, usable, offset, 0, 0);
        return r == -Errno.EPIPE ? SignalSyscalls.brokenPipe(p) : r;
    }

    /**
     * Before a read or write that may block (a pipe, a terminal): waits on the host until the fd is ready,
     * so that a signal or the process's end can interrupt the wait; -ERESTARTSYS if one did. An fd in
     * non-blocking mode is not waited for (the host call gives EAGAIN itself).
     */
    private static long awaitReady(int hostFd, boolean reading) {
        long flags = Libc.syscall(FCNTL, hostFd, F_GETFL, 0, 0, 0, 0);
        if (flags >= 0 && (flags & O_NONBLOCK) != 0) {
            return 0;
        }
        int r = GuestThread.current().waitReady(hostFd, reading ? GuestThread.POLLIN : GuestThread.POLLOUT, -1);
        return r < 0 ? -SignalDelivery.ERESTARTSYS : 0;
    }

    private static long vector(GuestProcess p, int nr, long fd, long iov, long count, long lo, long hi) {
        int h = p.fds.host(fd);
        if (h < 0) {
            return -EBADF;
        }
        if (count < 0 || count > IOV_MAX) {
            return -EINVAL;
        }
        long iovHost = p.in(iov, count * 16);
        if (iovHost < 0) {
            return -EFAULT;
        }
        boolean fills = nr == READV || nr == PREADV;
        MemorySegment table = p.scratch();
        int used = 0;
        for (int k = 0; k < count; k++) {
            long base = p.space.readLong(iov + 16L * k);
            long len = p.space.readLong(iov + 16L * k + 8);
            if (len < 0) {
                return -EINVAL;
            }
            long usable = p.space.accessiblePrefix(base, len, fills ? AddressSpace.WRITE : AddressSpace.READ);
            if (len > 0 && usable == 0) {
                if (used == 0) {
                    return -EFAULT;
                }
                break;
            }
            long host = fills ? p.out(base, usable) : p.in(base, usable);
            table.set(ValueLayout.JAVA_LONG, 16L * used, host);
            table.set(ValueLayout.JAVA_LONG, 16L * used + 8, usable);
            used++;
            if (usable < len) {
                break; // a short buffer ends the transfer there
            }
        }
        if (nr == READV || nr == WRITEV) {
            long waited = awaitReady(h, fills);
            if (waited < 0) {
                return waited;
            }
        }
        long r = Libc.syscall(nr, h, table.address(), used, lo, hi, 0);
        return r == -Errno.EPIPE ? SignalSyscalls.brokenPipe(p) : r;
    }

    private static long getdents64(GuestProcess p, long fd, long buf, long count, long a3, long a4, long a5) {
        int h = p.fds.host(fd);
        if (h < 0) {
            return -EBADF;
        }
        long usable = p.space.accessiblePrefix(buf, Math.min(count & 0xFFFFFFFFL, MAX_RW), AddressSpace.WRITE);
        if (usable == 0) {
            return count == 0 ? -EINVAL : -EFAULT;
        }
        return Libc.syscall(GETDENTS64, h, p.out(buf, usable), usable, 0, 0, 0);
    }

    private static long sendfile(GuestProcess p, long outFd, long inFd, long offset, long count, long a4, long a5) {
        int out = p.fds.host(outFd), in = p.fds.host(inFd);
        if (out < 0 || in < 0) {
            return -EBADF;
        }
        long off = p.outOrNull(offset, 8);
        return off < 0 ? -EFAULT : Libc.syscall(SENDFILE, out, in, off, count, 0, 0);
    }

    private static long dupAbove(GuestProcess p, long fd, long lowest, boolean cloexec) {
        int h = p.fds.host(fd);
        if (h < 0) {
            return -EBADF;
        }
        if (lowest < 0 || lowest >= FdTable.MAX) {
            return -EINVAL;
        }
        long copy = FdTable.duplicateHost(h);
        return copy < 0 ? copy : p.fds.add((int) copy, lowest, cloexec);
    }

    private static long dupTo(GuestProcess p, long fd, long newFd, long flags) {
        int h = p.fds.host(fd);
        if (h < 0 || newFd < 0 || newFd >= FdTable.MAX) {
            return -EBADF;
        }
        long copy = FdTable.duplicateHost(h);
        if (copy < 0) {
            return copy;
        }
        p.fds.replace((int) newFd, (int) copy, (flags & O_CLOEXEC) != 0);
        return newFd;
    }

    private static long pipe(GuestProcess p, long fds, long flags) {
        if (p.out(fds, 8) < 0) {
            return -EFAULT;
        }
        MemorySegment pair = p.scratch();
        long r = Libc.syscall(PIPE2, pair.address(), flags | O_CLOEXEC, 0, 0, 0, 0);
        if (r < 0) {
            return r;
        }
        boolean cloexec = (flags & O_CLOEXEC) != 0;
        int hostRead = pair.get(ValueLayout.JAVA_INT, 0), hostWrite = pair.get(ValueLayout.JAVA_INT, 4);
        long readFd = p.fds.add(hostRead, 0, cloexec);
        if (readFd < 0) {
            Libc.syscall(CLOSE, hostWrite, 0, 0, 0, 0, 0);
            return readFd;
        }
        long writeFd = p.fds.add(hostWrite, 0, cloexec);
        if (writeFd < 0) {
            p.fds.close(readFd);
            return writeFd;
        }
        p.space.writeInt(fds, (int) readFd);
        p.space.writeInt(fds + 4, (int) writeFd);
        return 0;
    }

    private static final int F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, F_GETLK = 5,
            F_SETLK = 6, F_SETLKW = 7, F_OFD_GETLK = 36, F_OFD_SETLK = 37, F_OFD_SETLKW = 38,
            F_DUPFD_CLOEXEC = 1030, F_SETPIPE_SZ = 1031, F_GETPIPE_SZ = 1032;

    private static long fcntl(GuestProcess p, long fd, long cmd, long arg, long a3, long a4, long a5) {
        int h = p.fds.host(fd);
        if (h < 0) {
            return -EBADF;
        }
        switch ((int) cmd) {
            case F_DUPFD, F_DUPFD_CLOEXEC -> {
                return dupAbove(p, fd, arg, cmd == F_DUPFD_CLOEXEC);
            }
            case F_GETFD -> {
                return p.fds.cloexec((int) fd) ? 1 : 0;
            }
            case F_SETFD -> {
                p.fds.setCloexec((int) fd, (arg & 1) != 0);
                return 0;
            }
            case F_GETFL, F_SETFL, F_SETPIPE_SZ, F_GETPIPE_SZ -> {
                return Libc.syscall(FCNTL, h, cmd, arg, 0, 0, 0);
            }
            case F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW -> {
                long lock = p.out(arg, 32);
                return lock < 0 ? -EFAULT : Libc.syscall(FCNTL, h, cmd, lock, 0, 0, 0);
            }
            default -> {
                return -EINVAL;
            }
        }
    }

    /** Terminal and fd ioctls the guest may use, with their argument sizes; anything else is ENOTTY. */
    private static final long TCGETS = 0x5401, TCSETS = 0x5402, TCSETSW = 0x5403, TCSETSF = 0x5404,
            TIOCGPGRP = 0x540F, TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414, FIONREAD = 0x541B, FIONBIO = 0x5421,
            FIONCLEX = 0x5450, FIOCLEX = 0x5451;
    private static final int KERNEL_TERMIOS_SIZE = 36;

    private static long ioctl(GuestProcess p, long fd, long request, long arg, long a3, long a4, long a5) {
        int h = p.fds.host(fd);
        if (h < 0) {
            return -EBADF;
        }
        int req = (int) request;
        long size;
        boolean fills;
        if (req == TCGETS) {
            size = KERNEL_TERMIOS_SIZE;
            fills = true;
        } else if (req == TCSETS || req == TCSETSW || req == TCSETSF) {
            size = KERNEL_TERMIOS_SIZE;
            fills = false;
        } else if (req == TIOCGWINSZ) {
            size = 8;
            fills = true;
        } else if (req == TIOCSWINSZ) {
            size = 8;
            fills = false;
        } else if (req == FIONREAD || req == TIOCGPGRP) {
            size = 4;
            fills = true;
        } else if (req == FIONBIO) {
            size = 4;
            fills = false;
        } else if (req == FIOCLEX || req == FIONCLEX) {
            p.fds.setCloexec((int) fd, req == FIOCLEX);
            return 0;
        } else {
            return -ENOTTY;
        }
        long host = fills ? p.out(arg, size) : p.in(arg, size);
        return host < 0 ? -EFAULT : Libc.syscall(IOCTL, h, req, host, 0, 0, 0);
    }
}
