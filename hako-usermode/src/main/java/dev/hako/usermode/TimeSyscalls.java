package dev.hako.usermode;

import static dev.hako.usermode.Errno.EFAULT;

import dev.hako.sys.Libc;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Clocks, sleeping and randomness: the host's, with the guest's buffers checked. */
final class TimeSyscalls {
    private static final int CLOCK_MONOTONIC = 1, TIMER_ABSTIME = 1;
    static final int NANOSLEEP = 35, GETTIMEOFDAY = 96, TIME = 201, CLOCK_GETTIME = 228, CLOCK_GETRES = 229,
            CLOCK_NANOSLEEP = 230, GETRANDOM = 318;

    private TimeSyscalls() {}

    static void register(SyscallTable t) {
        t.add(CLOCK_GETTIME, (p, clock, tp, a2, a3, a4, a5) -> {
            long host = p.out(tp, 16);
            return host < 0 ? -EFAULT : Libc.syscall(CLOCK_GETTIME, clock, host, 0, 0, 0, 0);
        });
        t.add(CLOCK_GETRES, (p, clock, res, a2, a3, a4, a5) -> {
            long host = p.outOrNull(res, 16);
            return host < 0 ? -EFAULT : Libc.syscall(CLOCK_GETRES, clock, host, 0, 0, 0, 0);
        });
        t.add(GETTIMEOFDAY, (p, tv, tz, a2, a3, a4, a5) -> {
            long hostTv = p.outOrNull(tv, 16), hostTz = p.outOrNull(tz, 8);
            return hostTv < 0 || hostTz < 0 ? -EFAULT : Libc.syscall(GETTIMEOFDAY, hostTv, hostTz, 0, 0, 0, 0);
        });
        t.add(TIME, (p, tloc, a1, a2, a3, a4, a5) -> {
            long host = p.outOrNull(tloc, 8);
            return host < 0 ? -EFAULT : Libc.syscall(TIME, host, 0, 0, 0, 0, 0);
        });
        t.add(NANOSLEEP, (p, req, rem, a2, a3, a4, a5) -> sleep(p, CLOCK_MONOTONIC, 0, req, rem));
        t.add(CLOCK_NANOSLEEP, (p, clock, flags, req, rem, a4, a5) -> sleep(p, clock, flags, req, rem));
        t.add(GETRANDOM, (p, buf, len, flags, a3, a4, a5) -> {
            long usable = p.space.accessiblePrefix(buf, Math.min(len, 0x2000000L), AddressSpace.WRITE);
            if (len > 0 && usable == 0) {
                return -EFAULT;
            }
            return Libc.syscall(GETRANDOM, p.out(buf, usable), usable, flags, 0, 0, 0);
        });
    }

    /**
     * nanosleep and clock_nanosleep, as a wait a signal interrupts: the time left goes to {@code rem} (for a
     * relative sleep) and the result is EINTR once a handler runs.
     */
    private static long sleep(GuestProcess p, long clock, long flags, long req, long rem) {
        if (p.in(req, 16) < 0 || p.outOrNull(rem, 16) < 0) {
            return -EFAULT;
        }
        long sec = p.space.readLong(req), nsec = p.space.readLong(req + 8);
        if (sec < 0 || nsec < 0 || nsec >= 1_000_000_000L || clock < 0 || clock > 11) {
            return -Errno.EINVAL;
        }
        long nanos = sec > Long.MAX_VALUE / 4_000_000_000L ? Long.MAX_VALUE / 4 : sec * 1_000_000_000L + nsec;
        if ((flags & TIMER_ABSTIME) != 0) {
            MemorySegment now = p.scratch();
            long r = Libc.syscall(CLOCK_GETTIME, clock, now.address(), 0, 0, 0, 0);
            if (r < 0) {
                return r;
            }
            nanos -= now.get(ValueLayout.JAVA_LONG, 0) * 1_000_000_000L + now.get(ValueLayout.JAVA_LONG, 8);
        }
        GuestThread self = GuestThread.current();
        long deadline = System.nanoTime() + Math.max(0, nanos);
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return 0;
            }
            if (self.interrupted()) {
                if (rem != 0 && (flags & TIMER_ABSTIME) == 0) {
                    p.space.writeLong(rem, left / 1_000_000_000L);
                    p.space.writeLong(rem + 8, left % 1_000_000_000L);
                }
                return -SignalDelivery.ERESTARTNOHAND;
            }
            self.sleep(deadline);
        }
    }
}
