package dev.hako.usermode;

import static dev.hako.usermode.Errno.EFAULT;

import dev.hako.sys.Libc;

/** Clocks, sleeping and randomness: the host's, with the guest's buffers checked. */
final class TimeSyscalls {
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
        t.add(NANOSLEEP, (p, req, rem, a2, a3, a4, a5) -> {
            long hostReq = p.in(req, 16), hostRem = p.outOrNull(rem, 16);
            return hostReq < 0 || hostRem < 0 ? -EFAULT : Libc.syscall(NANOSLEEP, hostReq, hostRem, 0, 0, 0, 0);
        });
        t.add(CLOCK_NANOSLEEP, (p, clock, flags, req, rem, a4, a5) -> {
            long hostReq = p.in(req, 16), hostRem = p.outOrNull(rem, 16);
            return hostReq < 0 || hostRem < 0 ? -EFAULT
                    : Libc.syscall(CLOCK_NANOSLEEP, clock, flags, hostReq, hostRem, 0, 0);
        });
        t.add(GETRANDOM, (p, buf, len, flags, a3, a4, a5) -> {
            long usable = p.space.accessiblePrefix(buf, Math.min(len, 0x2000000L), AddressSpace.WRITE);
            if (len > 0 && usable == 0) {
                return -EFAULT;
            }
            return Libc.syscall(GETRANDOM, p.out(buf, usable), usable, flags, 0, 0, 0);
        });
    }
}
