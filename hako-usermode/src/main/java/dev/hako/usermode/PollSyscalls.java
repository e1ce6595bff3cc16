package dev.hako.usermode;

import static dev.hako.usermode.Errno.EBADF;
import static dev.hako.usermode.Errno.EFAULT;
import static dev.hako.usermode.Errno.EINVAL;

import dev.hako.sys.Libc;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Waiting for file descriptors: poll and ppoll on a translated copy of the guest's pollfd array; select and
 * pselect6 are carried out as a ppoll on the host (guest fd sets become pollfds and back). The calling
 * thread's wake-up eventfd is polled too, so a signal ends the wait (EINTR). The signal mask argument of
 * ppoll and pselect6 is ignored, and the remaining time is not written back.
 */
final class PollSyscalls {
    static final int POLL = 7, SELECT = 23, PSELECT6 = 270, PPOLL = 271;
    private static final short POLLIN = 1, POLLPRI = 2, POLLOUT = 4, POLLERR = 8, POLLHUP = 16, POLLNVAL = 32;
    private static final int MAX_FDS = FdTable.MAX;
    /** Scratch layout: host pollfds from 0, the guest fd of each (select) from 32 KiB, a timespec at 60 KiB. */
    private static final long GUEST_FDS_SLOT = 32 * 1024, TIMESPEC_SLOT = 60 * 1024;

    private PollSyscalls() {}

    static void register(SyscallTable t) {
        t.add(POLL, (p, fds, nfds, timeoutMs, a3, a4, a5) -> {
            long ts = 0;
            if ((int) timeoutMs >= 0) {
                ts = timespec(p, (int) timeoutMs / 1000, ((int) timeoutMs % 1000) * 1_000_000L);
            }
            return poll(p, fds, nfds, ts);
        });
        t.add(PPOLL, (p, fds, nfds, tmo, sigmask, size, a5) -> {
            long ts = guestTimeout(p, tmo, 1);
            return ts < 0 ? ts : poll(p, fds, nfds, ts);
        });
        t.add(SELECT, (p, n, r, w, e, tv, a5) -> {
            long ts = guestTimeout(p, tv, 1000); // a timeval: microseconds
            return ts < 0 ? ts : select(p, n, r, w, e, ts);
        });
        t.add(PSELECT6, (p, n, r, w, e, tmo, sigmask) -> {
            long ts = guestTimeout(p, tmo, 1);
            return ts < 0 ? ts : select(p, n, r, w, e, ts);
        });
    }

    /**
     * A guest timeout (seconds, then the fraction in units of {@code nanosPerUnit}) as a host timespec
     * from {@link #timespec}; 0 for a NULL pointer, -EFAULT when unreadable.
     */
    private static long guestTimeout(GuestProcess p, long gva, long nanosPerUnit) {
        if (gva == 0) {
            return 0;
        }
        if (p.in(gva, 16) < 0) {
            return -EFAULT;
        }
        return timespec(p, p.space.readLong(gva), p.space.readLong(gva + 8) * nanosPerUnit);
    }

    /** A host timespec in the scratch area; -1 (never) cannot be represented, so callers pass 0 for none. */
    private static long timespec(GuestProcess p, long seconds, long nanos) {
        MemorySegment s = p.scratch();
        s.set(ValueLayout.JAVA_LONG, TIMESPEC_SLOT, seconds);
        s.set(ValueLayout.JAVA_LONG, TIMESPEC_SLOT + 8, nanos);
        return s.address() + TIMESPEC_SLOT;
    }

    private static long poll(GuestProcess p, long fds, long nfds, long hostTimespec) {
        if (nfds < 0 || nfds > MAX_FDS) {
            return -EINVAL;
        }
        if (p.out(fds, nfds * 8) < 0) {
            return -EFAULT;
        }
        MemorySegment s = p.scratch();
        int invalid = 0;
        for (int k = 0; k < nfds; k++) {
            int fd = p.space.readInt(fds + 8L * k);
            int events = p.space.readInt(fds + 8L * k + 4) & 0xFFFF;
            int host = fd < 0 ? -1 : p.fds.host(fd);
            if (fd >= 0 && host < 0) {
                invalid++;
            }
            s.set(ValueLayout.JAVA_INT, 8L * k, host);
            s.set(ValueLayout.JAVA_INT, 8L * k + 4, events);
        }
        long timeout = invalid > 0 ? timespec(p, 0, 0) : hostTimespec;
        long r = interruptiblePoll(s, (int) nfds, timeout);
        if (r < 0) {
            return r;
        }
        long ready = 0;
        for (int k = 0; k < nfds; k++) {
            int fd = p.space.readInt(fds + 8L * k);
            short revents = s.get(ValueLayout.JAVA_SHORT, 8L * k + 6);
            if (fd >= 0 && p.fds.host(fd) < 0) {
                revents = POLLNVAL;
            } else if (fd < 0) {
                revents = 0;
            }
            p.space.ram.set(ValueLayout.JAVA_SHORT_UNALIGNED, fds + 8L * k + 6, revents);
            if (revents != 0) {
                ready++;
            }
        }
        return ready;
    }

    private static long select(GuestProcess p, long n, long readSet, long writeSet, long exceptSet, long ts) {
        if (n < 0 || n > MAX_FDS) {
            return -EINVAL;
        }
        long bytes = ((n + 63) / 64) * 8;
        long[] sets = {readSet, writeSet, exceptSet};
        for (long set : sets) {
            if (p.outOrNull(set, bytes) < 0) {
                return -EFAULT;
            }
        }
        MemorySegment s = p.scratch();
        int count = 0;
        for (int fd = 0; fd < n; fd++) {
            int events = 0;
            for (int k = 0; k < 3; k++) {
                if (sets[k] != 0 && bit(p, sets[k], fd)) {
                    events |= k == 0 ? POLLIN : k == 1 ? POLLOUT : POLLPRI;
                }
            }
            if (events == 0) {
                continue;
            }
            int host = p.fds.host(fd);
            if (host < 0) {
                return -EBADF;
            }
            s.set(ValueLayout.JAVA_INT, 8L * count, host);
            s.set(ValueLayout.JAVA_INT, 8L * count + 4, events);
            s.set(ValueLayout.JAVA_INT, GUEST_FDS_SLOT + 4L * count, fd);
            count++;
        }
        long r = interruptiblePoll(s, count, ts);
        if (r < 0) {
            return r;
        }
        for (long set : sets) {
            for (long b = 0; set != 0 && b < bytes; b += 8) {
                p.space.writeLong(set + b, 0);
            }
        }
        long ready = 0;
        for (int k = 0; k < count; k++) {
            int fd = s.get(ValueLayout.JAVA_INT, GUEST_FDS_SLOT + 4L * k);
            int requested = s.get(ValueLayout.JAVA_SHORT, 8L * k + 4);
            int revents = s.get(ValueLayout.JAVA_SHORT, 8L * k + 6);
            if (readSet != 0 && (requested & POLLIN) != 0 && (revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
                setBit(p, readSet, fd);
                ready++;
            }
            if (writeSet != 0 && (requested & POLLOUT) != 0 && (revents & (POLLOUT | POLLERR)) != 0) {
                setBit(p, writeSet, fd);
                ready++;
            }
            if (exceptSet != 0 && (requested & POLLPRI) != 0 && (revents & POLLPRI) != 0) {
                setBit(p, exceptSet, fd);
                ready++;
            }
        }
        return ready;
    }

    /**
     * ppoll of {@code count} host pollfds at {@code s} plus the thread's wake-up eventfd after them; the
     * number ready, or -errno, or -ERESTARTNOHAND when a signal ended the wait.
     */
    private static long interruptiblePoll(MemorySegment s, int count, long timeout) {
        GuestThread self = GuestThread.current();
        while (true) {
            s.set(ValueLayout.JAVA_INT, 8L * count, self.wakeFd());
            s.set(ValueLayout.JAVA_INT, 8L * count + 4, POLLIN);
            long r = Libc.syscall(PPOLL, s.address(), count + 1, timeout, 0, 8, 0);
            if (r < 0) {
                return r;
            }
            if (s.get(ValueLayout.JAVA_SHORT, 8L * count + 6) == 0) {
                return r;
            }
            self.drainWake();
            if (self.interrupted()) {
                return -SignalDelivery.ERESTARTNOHAND;
            }
            if (r > 1) {
                return r - 1;
            }
        }
    }

    private static boolean bit(GuestProcess p, long set, int fd) {
        return (p.space.readLong(set + (fd >>> 6) * 8L) & (1L << (fd & 63))) != 0;
    }

    private static void setBit(GuestProcess p, long set, int fd) {
        long a = set + (fd >>> 6) * 8L;
        p.space.writeLong(a, p.space.readLong(a) | (1L << (fd & 63)));
    }
}
