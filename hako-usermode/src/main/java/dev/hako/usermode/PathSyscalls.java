package dev.hako.usermode;

import static dev.hako.usermode.Errno.EFAULT;
import static dev.hako.usermode.Errno.ENOTSUP;
import static dev.hako.usermode.Errno.ERANGE;
import static dev.hako.usermode.GuestPaths.AT_FDCWD;

import dev.hako.sys.Libc;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/**
 * Syscalls that take file names. Each is carried out by the host's {@code *at} form, relative to the
 * guest's working-directory fd and with the name resolved under the root (see {@link GuestPaths}, told whether
 * the call follows a symbolic link in the last component, as the kernel's lookup for that call does); the
 * old non-{@code at} calls are mapped onto those. {@code readlink("/proc/self/exe")} names the program.
 * Extended attributes are not supported (ENOTSUP).
 */
final class PathSyscalls {
    static final int OPEN = 2, STAT = 4, LSTAT = 6, ACCESS = 21, TRUNCATE = 76, GETCWD = 79, CHDIR = 80,
            FCHDIR = 81, RENAME = 82, MKDIR = 83, RMDIR = 84, CREAT = 85, LINK = 86, UNLINK = 87, SYMLINK = 88,
            READLINK = 89, CHMOD = 90, CHOWN = 92, LCHOWN = 94, UTIMES = 235, STATFS = 137, OPENAT = 257,
            MKDIRAT = 258, MKNODAT = 259, FCHOWNAT = 260, FUTIMESAT = 261, NEWFSTATAT = 262, UNLINKAT = 263,
            RENAMEAT = 264, LINKAT = 265, SYMLINKAT = 266, READLINKAT = 267, FCHMODAT = 268, FACCESSAT = 269,
            UTIMENSAT = 280, RENAMEAT2 = 316, STATX = 332, FACCESSAT2 = 439;
    private static final int SETXATTR = 188, FREMOVEXATTR = 199;
    private static final int O_WRONLY = 1, O_CREAT = 0x40, O_EXCL = 0x80, O_TRUNC = 0x200, O_NOFOLLOW = 0x20000,
            O_CLOEXEC = 0x80000, O_PATH = 0x200000, O_DIRECTORY = 0x10000;
    private static final int AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_SYMLINK_FOLLOW = 0x400;
    private static final String PROC_SELF_EXE = "/proc/self/exe";

    private PathSyscalls() {}

    static void register(SyscallTable t) {
        t.add(OPEN, (p, path, flags, mode, a3, a4, a5) -> openat(p, AT_FDCWD, path, flags, mode));
        t.add(CREAT, (p, path, mode, a2, a3, a4, a5) -> openat(p, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode));
        t.add(OPENAT, (p, dirfd, path, flags, mode, a4, a5) -> openat(p, dirfd, path, flags, mode));
        t.add(STAT, (p, path, buf, a2, a3, a4, a5) -> stat(p, AT_FDCWD, path, buf, 0));
        t.add(LSTAT, (p, path, buf, a2, a3, a4, a5) -> stat(p, AT_FDCWD, path, buf, AT_SYMLINK_NOFOLLOW));
        t.add(NEWFSTATAT, (p, dirfd, path, buf, flags, a4, a5) -> stat(p, dirfd, path, buf, flags));
        t.add(STATX, PathSyscalls::statx);
        t.add(ACCESS, (p, path, mode, a2, a3, a4, a5) -> at(p, FACCESSAT, FOLLOW, AT_FDCWD, path, mode, 0, 0));
        t.add(FACCESSAT, (p, dirfd, path, mode, a3, a4, a5) -> at(p, FACCESSAT, FOLLOW, dirfd, path, mode, 0, 0));
        t.add(FACCESSAT2, (p, dirfd, path, mode, flags, a4, a5) -> at(p, FACCESSAT2, follows(flags), dirfd, path, mode, flags, 0));
        t.add(MKDIR, (p, path, mode, a2, a3, a4, a5) -> at(p, MKDIRAT, NO_FOLLOW, AT_FDCWD, path, mode, 0, 0));
        t.add(MKDIRAT, (p, dirfd, path, mode, a3, a4, a5) -> at(p, MKDIRAT, NO_FOLLOW, dirfd, path, mode, 0, 0));
        t.add(MKNODAT, (p, dirfd, path, mode, dev, a4, a5) -> at(p, MKNODAT, NO_FOLLOW, dirfd, path, mode, dev, 0));
        t.add(UNLINK, (p, path, a1, a2, a3, a4, a5) -> at(p, UNLINKAT, NO_FOLLOW, AT_FDCWD, path, 0, 0, 0));
        t.add(RMDIR, (p, path, a1, a2, a3, a4, a5) -> at(p, UNLINKAT, NO_FOLLOW, AT_FDCWD, path, AT_REMOVEDIR, 0, 0));
        t.add(UNLINKAT, (p, dirfd, path, flags, a3, a4, a5) -> at(p, UNLINKAT, NO_FOLLOW, dirfd, path, flags, 0, 0));
        t.add(CHMOD, (p, path, mode, a2, a3, a4, a5) -> at(p, FCHMODAT, FOLLOW, AT_FDCWD, path, mode, 0, 0));
        t.add(FCHMODAT, (p, dirfd, path, mode, a3, a4, a5) -> at(p, FCHMODAT, FOLLOW, dirfd, path, mode, 0, 0));
        t.add(CHOWN, (p, path, uid, gid, a3, a4, a5) -> at(p, FCHOWNAT, FOLLOW, AT_FDCWD, path, uid, gid, 0));
        t.add(LCHOWN, (p, path, uid, gid, a3, a4, a5) -> at(p, FCHOWNAT, NO_FOLLOW, AT_FDCWD, path, uid,
                gid, AT_SYMLINK_NOFOLLOW));
        t.add(FCHOWNAT, (p, dirfd, path, uid, gid, flags, a5) -> at(p, FCHOWNAT, follows(flags), dirfd, path, uid, gid,
                flags));
        t.add(RENAME, (p, from, to, a2, a3, a4, a5) -> twoNames(p, RENAMEAT2, AT_FDCWD, from, AT_FDCWD, to, 0));
        t.add(RENAMEAT, (p, fromDir, from, toDir, to, a4, a5) -> twoNames(p, RENAMEAT2, fromDir, from, toDir, to, 0));
        t.add(RENAMEAT2, (p, fromDir, from, toDir, to, flags, a5) ->
                twoNames(p, RENAMEAT2, fromDir, from, toDir, to, flags));
        t.add(LINK, (p, from, to, a2, a3, a4, a5) -> twoNames(p, LINKAT, AT_FDCWD, from, AT_FDCWD, to, 0));
        t.add(LINKAT, (p, fromDir, from, toDir, to, flags, a5) -> twoNames(p, LINKAT, fromDir, from, toDir, to, flags));
        t.add(SYMLINK, (p, target, link, a2, a3, a4, a5) -> symlink(p, target, AT_FDCWD, link));
        t.add(SYMLINKAT, (p, target, dirfd, link, a3, a4, a5) -> symlink(p, target, dirfd, link));
        t.add(READLINK, (p, path, buf, size, a3, a4, a5) -> readlink(p, AT_FDCWD, path, buf, size));
        t.add(READLINKAT, (p, dirfd, path, buf, size, a4, a5) -> readlink(p, dirfd, path, buf, size));
        t.add(UTIMENSAT, PathSyscalls::utimensat);
        t.add(UTIMES, (p, path, times, a2, a3, a4, a5) -> timesAt(p, FUTIMESAT, AT_FDCWD, path, times, 0));
        t.add(FUTIMESAT, (p, dirfd, path, times, a3, a4, a5) -> timesAt(p, FUTIMESAT, dirfd, path, times, 0));
        t.add(TRUNCATE, PathSyscalls::truncate);
        t.add(STATFS, PathSyscalls::statfs);
        t.add(GETCWD, PathSyscalls::getcwd);
        t.add(CHDIR, PathSyscalls::chdir);
        t.add(FCHDIR, PathSyscalls::fchdir);
        for (int nr = SETXATTR; nr <= FREMOVEXATTR; nr++) {
            t.add(nr, (p, a0, a1, a2, a3, a4, a5) -> -ENOTSUP);
        }
    }

    private static final boolean FOLLOW = true, NO_FOLLOW = false;

    /** Whether a call with *at {@code flags} follows a symbolic link in the last component. */
    private static boolean follows(long flags) {
        return (flags & AT_SYMLINK_NOFOLLOW) == 0;
    }

    /** A host {@code *at} syscall: (dirfd, name, a, b, c); {@code follow}: it follows a final symbolic link. */
    private static long at(GuestProcess p, int nr, boolean follow, long dirfd, long path, long a, long b, long c) {
        long hostDir = p.hostPath(dirfd, path, follow, p.pathA());
        return hostDir < 0 ? hostDir : Libc.syscall(nr, hostDir, p.pathA().address(), a, b, c, 0);
    }

    private static long openat(GuestProcess p, long dirfd, long path, long flags, long mode) {
        boolean follow = (flags & O_NOFOLLOW) == 0 && (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
        long fd = at(p, OPENAT, follow, dirfd, path, flags | O_CLOEXEC, mode, 0);
        return fd < 0 ? fd : p.fds.add((int) fd, 0, (flags & O_CLOEXEC) != 0);
    }

    private static long stat(GuestProcess p, long dirfd, long path, long buf, long flags) {
        long host = p.out(buf, 144);
        if (host < 0) {
            return -EFAULT;
        }
        return at(p, NEWFSTATAT, follows(flags), dirfd, path, host, flags, 0);
    }

    private static long statx(GuestProcess p, long dirfd, long path, long flags, long mask, long buf, long a5) {
        long host = p.out(buf, 256);
        if (host < 0) {
            return -EFAULT;
        }
        return at(p, STATX, follows(flags), dirfd, path, flags, mask, host);
    }

    /** renameat2 and linkat: neither follows a final link, but for linkat's source with AT_SYMLINK_FOLLOW. */
    private static long twoNames(GuestProcess p, int nr, long fromDir, long from, long toDir, long to, long flags) {
        boolean followFrom = nr == LINKAT && (flags & AT_SYMLINK_FOLLOW) != 0;
        long hostFrom = p.hostPath(fromDir, from, followFrom, p.pathA());
        if (hostFrom < 0) {
            return hostFrom;
        }
        long hostTo = p.hostPath(toDir, to, NO_FOLLOW, p.pathB());
        if (hostTo < 0) {
            return hostTo;
        }
        return Libc.syscall(nr, hostFrom, p.pathA().address(), hostTo, p.pathB().address(), flags, 0);
    }

    /** The link's target is stored as the guest wrote it; only the link's own name is resolved. */
    private static long symlink(GuestProcess p, long target, long dirfd, long link) {
        String targetName = p.pathName(target);
        if (targetName == null) {
            return p.pathError();
        }
        GuestPaths.putCString(targetName, p.pathB());
        long hostDir = p.hostPath(dirfd, link, NO_FOLLOW, p.pathA());
        return hostDir < 0 ? hostDir : Libc.syscall(SYMLINKAT, p.pathB().address(), hostDir, p.pathA().address(), 0, 0, 0);
    }

    private static long readlink(GuestProcess p, long dirfd, long path, long buf, long size) {
        if ((int) size <= 0) {
            return -Errno.EINVAL;
        }
        long usable = p.space.accessiblePrefix(buf, size & 0xFFFFFFFFL, AddressSpace.WRITE);
        if (usable == 0) {
            return -EFAULT;
        }
        String name = p.pathName(path);
        if (name == null) {
            return p.pathError();
        }
        if (name.equals(PROC_SELF_EXE)) {
            byte[] exe = p.exePath.getBytes(StandardCharsets.ISO_8859_1);
            int n = (int) Math.min(exe.length, usable);
            p.out(buf, n);
            p.space.writeBytes(buf, exe, 0, n);
            return n;
        }
        long hostDir = p.paths.resolve(p.fds, dirfd, name, NO_FOLLOW, p.pathA());
        return hostDir < 0 ? hostDir
                : Libc.syscall(READLINKAT, hostDir, p.pathA().address(), p.out(buf, usable), usable, 0, 0);
    }

    /** utimensat: a NULL name means the file open as {@code dirfd}. */
    private static long utimensat(GuestProcess p, long dirfd, long path, long times, long flags, long a4, long a5) {
        if (path == 0) {
            long t = p.inOrNull(times, 32);
            int h = p.fds.host(dirfd);
            if (t < 0) {
                return -EFAULT;
            }
            return h < 0 ? -Errno.EBADF : Libc.syscall(UTIMENSAT, h, 0, t, flags, 0, 0);
        }
        return timesAt(p, UTIMENSAT, dirfd, path, times, flags);
    }

    private static long timesAt(GuestProcess p, int nr, long dirfd, long path, long times, long flags) {
        long t = p.inOrNull(times, 32);
        if (t < 0) {
            return -EFAULT;
        }
        return at(p, nr, follows(flags), dirfd, path, t, flags, 0);
    }

    /** truncate and statfs have no {@code *at} form: open the name, then use the fd form. */
    private static long truncate(GuestProcess p, long path, long length, long a2, long a3, long a4, long a5) {
        long fd = openHost(p, path, O_WRONLY);
        if (fd < 0) {
            return fd;
        }
        long r = Libc.syscall(FileSyscalls.FTRUNCATE, fd, length, 0, 0, 0, 0);
        Libc.syscall(FileSyscalls.CLOSE, fd, 0, 0, 0, 0, 0);
        return r;
    }

    private static long statfs(GuestProcess p, long path, long buf, long a2, long a3, long a4, long a5) {
        long host = p.out(buf, 120);
        if (host < 0) {
            return -EFAULT;
        }
        long fd = openHost(p, path, O_PATH);
        if (fd < 0) {
            return fd;
        }
        long r = Libc.syscall(FileSyscalls.FSTATFS, fd, host, 0, 0, 0, 0);
        Libc.syscall(FileSyscalls.CLOSE, fd, 0, 0, 0, 0, 0);
        return r;
    }

    private static long openHost(GuestProcess p, long path, int flags) {
        return at(p, OPENAT, FOLLOW, AT_FDCWD, path, flags | O_CLOEXEC, 0, 0);
    }

    private static long getcwd(GuestProcess p, long buf, long size, long a2, long a3, long a4, long a5) {
        byte[] cwd = p.paths.cwd().getBytes(StandardCharsets.ISO_8859_1);
        if (size < cwd.length + 1) {
            return -ERANGE;
        }
        if (p.out(buf, cwd.length + 1) < 0) {
            return -EFAULT;
        }
        p.space.writeBytes(buf, cwd, 0, cwd.length);
        p.space.ram.set(java.lang.foreign.ValueLayout.JAVA_BYTE, buf + cwd.length, (byte) 0);
        return cwd.length + 1;
    }

    private static long chdir(GuestProcess p, long path, long a1, long a2, long a3, long a4, long a5) {
        long hostDir = p.hostPath(AT_FDCWD, path, FOLLOW, p.pathA());
        return hostDir < 0 ? hostDir : p.paths.changeDirectory(hostDir, p.pathA(), p.scratch());
    }

    private static long fchdir(GuestProcess p, long fd, long a1, long a2, long a3, long a4, long a5) {
        int h = p.fds.host(fd);
        if (h < 0) {
            return -Errno.EBADF;
        }
        MemorySegment dot = p.pathA();
        GuestPaths.putCString(".", dot);
        long dir = Libc.syscall(OPENAT, h, dot.address(), O_PATH | O_DIRECTORY | O_CLOEXEC, 0, 0, 0);
        return dir < 0 ? dir : p.paths.adoptWorkingDirectory((int) dir, p.scratch());
    }
}
