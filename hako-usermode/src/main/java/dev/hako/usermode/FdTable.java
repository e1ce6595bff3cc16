package dev.hako.usermode;

import dev.hako.sys.Libc;
import java.util.Arrays;

/**
 * The guest's file descriptors: each guest fd stands for a host fd the process owns (opened for it, or a
 * {@code dup} of one of the JVM's), so a guest closing or replacing fd 1 never closes the JVM's own. Numbers
 * are allocated lowest-first as POSIX requires. FD_CLOEXEC is kept per guest fd. A forked child gets a copy:
 * new host fds for the same open file descriptions (offsets and status flags shared, as after fork). The
 * threads of a process share the table; its methods are synchronized.
 */
final class FdTable {
    /** RLIMIT_NOFILE as the guest sees it. */
    static final int MAX = 1024;
    private static final long SYS_CLOSE = 3, SYS_FCNTL = 72;
    private static final int F_DUPFD_CLOEXEC = 1030;

    private final int[] host = new int[MAX];
    private final boolean[] cloexec = new boolean[MAX];

    FdTable() {
        Arrays.fill(host, -1);
    }

    /** Host fd for a guest fd, or -1 if it is not open. */
    synchronized int host(long guestFd) {
        return guestFd >= 0 && guestFd < MAX ? host[(int) guestFd] : -1;
    }

    synchronized boolean cloexec(int guestFd) {
        return cloexec[guestFd];
    }

    synchronized void setCloexec(int guestFd, boolean value) {
        cloexec[guestFd] = value;
    }

    /** Gives {@code hostFd} the lowest free guest number at or above {@code lowest}; -EMFILE (closing it) if none. */
    synchronized long add(int hostFd, long lowest, boolean closeOnExec) {
        for (long fd = Math.max(0, lowest); fd < MAX; fd++) {
            if (host[(int) fd] < 0) {
                host[(int) fd] = hostFd;
                cloexec[(int) fd] = closeOnExec;
                return fd;
            }
        }
        Libc.syscall(SYS_CLOSE, hostFd, 0, 0, 0, 0, 0);
        return -Errno.EMFILE;
    }

    /** Adopts a copy of one of the JVM's fds as guest {@code guestFd} (stdin, stdout, stderr). */
    synchronized void inherit(int guestFd, int jvmFd) {
        long copy = Libc.syscall(SYS_FCNTL, jvmFd, F_DUPFD_CLOEXEC, 3, 0, 0, 0);
        if (copy >= 0) {
            host[guestFd] = (int) copy;
        }
    }

    /** Makes {@code guestFd} stand for {@code hostFd}, closing what it stood for before. */
    synchronized void replace(int guestFd, int hostFd, boolean closeOnExec) {
        int old = host[guestFd];
        host[guestFd] = hostFd;
        cloexec[guestFd] = closeOnExec;
        if (old >= 0) {
            Libc.syscall(SYS_CLOSE, old, 0, 0, 0, 0, 0);
        }
    }

    synchronized long close(long guestFd) {
        int h = host(guestFd);
        if (h < 0) {
            return -Errno.EBADF;
        }
        host[(int) guestFd] = -1;
        long r = Libc.syscall(SYS_CLOSE, h, 0, 0, 0, 0, 0);
        return r == -Errno.EINTR ? 0 : r;
    }

    /** A new host fd (close-on-exec on the host) for the same open file as {@code hostFd}, or -errno. */
    static long duplicateHost(int hostFd) {
        return Libc.syscall(SYS_FCNTL, hostFd, F_DUPFD_CLOEXEC, 3, 0, 0, 0);
    }

    synchronized void closeAll() {
        for (int fd = 0; fd < MAX; fd++) {
            if (host[fd] >= 0) {
                Libc.syscall(SYS_CLOSE, host[fd], 0, 0, 0, 0, 0);
                host[fd] = -1;
            }
        }
    }

    /** A copy for a forked child; fds the host will not duplicate (out of fds) are left closed in the copy. */
    synchronized FdTable copy() {
        FdTable child = new FdTable();
        for (int fd = 0; fd < MAX; fd++) {
            if (host[fd] >= 0) {
                long copy = duplicateHost(host[fd]);
                if (copy >= 0) {
                    child.host[fd] = (int) copy;
                    child.cloexec[fd] = cloexec[fd];
                }
            }
        }
        return child;
    }

    /** execve: closes every fd marked close-on-exec. */
    synchronized void closeOnExec() {
        for (int fd = 0; fd < MAX; fd++) {
            if (host[fd] >= 0 && cloexec[fd]) {
                Libc.syscall(SYS_CLOSE, host[fd], 0, 0, 0, 0, 0);
                host[fd] = -1;
                cloexec[fd] = false;
            }
        }
    }
}
