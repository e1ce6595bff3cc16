package dev.hako.usermode;

import dev.hako.sys.Libc;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * futex(2) as glibc and musl use it: WAIT and WAIT_BITSET (relative CLOCK_MONOTONIC timeouts for WAIT,
 * absolute ones for WAIT_BITSET on CLOCK_MONOTONIC or, with FUTEX_CLOCK_REALTIME, CLOCK_REALTIME), WAKE and
 * WAKE_BITSET, REQUEUE and CMP_REQUEUE, and WAKE_OP; FUTEX_PRIVATE_FLAG is accepted (private and shared
 * futexes are the same here, see {@link Futexes}). A wait ends on a wake, its timeout, or a signal
 * (ERESTARTSYS). Priority-inheritance operations are ENOSYS.
 */
final class FutexSyscall {
    static final int FUTEX = 202;
    private static final int FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_REQUEUE = 3, FUTEX_CMP_REQUEUE = 4,
            FUTEX_WAKE_OP = 5, FUTEX_WAIT_BITSET = 9, FUTEX_WAKE_BITSET = 10;
    private static final int FUTEX_CLOCK_REALTIME = 256;
    private static final int CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1;
    private static final long SYS_CLOCK_GETTIME = 228;

    private FutexSyscall() {}

    static void register(SyscallTable t) {
        t.add(FUTEX, FutexSyscall::futex);
    }

    private static long futex(GuestProcess p, long uaddr, long op, long val, long timeout, long uaddr2, long val3) {
        int cmd = (int) op & 0x7F;
        if ((uaddr & 3) != 0) {
            return -Errno.EINVAL;
        }
        if (p.in(uaddr, 4) < 0) {
            return -Errno.EFAULT;
        }
        Futexes futexes = p.table.futexes;
        switch (cmd) {
            case FUTEX_WAIT, FUTEX_WAIT_BITSET -> {
                int bitset = cmd == FUTEX_WAIT ? -1 : (int) val3;
                if (bitset == 0) {
                    return -Errno.EINVAL;
                }
                long deadline = -1;
                if (timeout != 0) {
                    if (p.in(timeout, 16) < 0) {
                        return -Errno.EFAULT;
                    }
                    long sec = p.space.readLong(timeout), nsec = p.space.readLong(timeout + 8);
                    if (sec < 0 || nsec < 0 || nsec >= 1_000_000_000L) {
                        return -Errno.EINVAL;
                    }
                    long nanos = saturated(sec, nsec);
                    if (cmd == FUTEX_WAIT_BITSET) {
                        nanos -= now(p, (op & FUTEX_CLOCK_REALTIME) != 0 ? CLOCK_REALTIME : CLOCK_MONOTONIC);
                    }
                    deadline = System.nanoTime() + Math.max(0, Math.min(nanos, Long.MAX_VALUE / 4));
                }
                return await(p, uaddr, (int) val, bitset, deadline);
            }
            case FUTEX_WAKE, FUTEX_WAKE_BITSET -> {
                int bitset = cmd == FUTEX_WAKE ? -1 : (int) val3;
                return bitset == 0 ? -Errno.EINVAL : futexes.wake(p.space, uaddr, (int) Math.max(0, val), bitset);
            }
            case FUTEX_REQUEUE, FUTEX_CMP_REQUEUE -> {
                if ((uaddr2 & 3) != 0) {
                    return -Errno.EINVAL;
                }
                int move = (int) Math.min(Integer.MAX_VALUE, timeout & 0xFFFF_FFFFL); // val2 travels in the timeout slot
                return futexes.requeue(p.space, uaddr, uaddr2, (int) Math.max(0, val), move,
                        cmd == FUTEX_CMP_REQUEUE, (int) val3);
            }
            case FUTEX_WAKE_OP -> {
                if ((uaddr2 & 3) != 0 || p.out(uaddr2, 4) < 0) {
                    return -Errno.EFAULT;
                }
                return wakeOp(p, uaddr, uaddr2, (int) val, (int) (timeout & 0xFFFF_FFFFL), (int) val3);
            }
            default -> {
                return -Errno.ENOSYS;
            }
        }
    }

    private static long await(GuestProcess p, long uaddr, int expected, int bitset, long deadline) {
        GuestThread self = GuestThread.current();
        Futexes.Waiter w = new Futexes.Waiter(self, bitset);
        if (!p.table.futexes.enqueue(p.space, uaddr, expected, w)) {
            return -Errno.EAGAIN;
        }
        while (true) {
            if (w.woken) {
                return 0;
            }
            if (self.interrupted()) {
                return p.table.futexes.dequeue(w) ? 0 : -SignalDelivery.ERESTARTSYS;
            }
            if (deadline >= 0 && System.nanoTime() >= deadline) {
                return p.table.futexes.dequeue(w) ? 0 : -Errno.ETIMEDOUT;
            }
            self.sleep(deadline);
        }
    }

    /** FUTEX_WAKE_OP: an atomic op on *uaddr2, wake on uaddr, and on uaddr2 too if the old value passes the test. */
    private static long wakeOp(GuestProcess p, long uaddr, long uaddr2, int wake, int wake2, int encoded) {
        int op = (encoded >>> 28) & 7, cmp = (encoded >>> 24) & 15;
        int oparg = (encoded << 8) >> 20, cmparg = (encoded << 20) >> 20;
        if ((encoded & (8 << 28)) != 0) {
            oparg = 1 << (oparg & 31);
        }
        int old;
        synchronized (p.table.futexes) {
            old = p.space.readInt(uaddr2);
            int updated = switch (op) {
                case 0 -> oparg;
                case 1 -> old + oparg;
                case 2 -> old | oparg;
                case 3 -> old & ~oparg;
                case 4 -> old ^ oparg;
                default -> old;
            };
            if (op > 4) {
                return -Errno.ENOSYS;
            }
            p.space.writeInt(uaddr2, updated);
        }
        int n = p.table.futexes.wake(p.space, uaddr, wake, -1);
        boolean pass = switch (cmp) {
            case 0 -> old == cmparg;
            case 1 -> old != cmparg;
            case 2 -> old < cmparg;
            case 3 -> old <= cmparg;
            case 4 -> old > cmparg;
            case 5 -> old >= cmparg;
            default -> false;
        };
        if (pass) {
            n += p.table.futexes.wake(p.space, uaddr2, wake2, -1);
        }
        return n;
    }

    private static long saturated(long sec, long nsec) {
        return sec > Long.MAX_VALUE / 2_000_000_000L ? Long.MAX_VALUE / 4 : sec * 1_000_000_000L + nsec;
    }

    private static long now(GuestProcess p, int clock) {
        MemorySegment s = p.scratch();
        Libc.syscall(SYS_CLOCK_GETTIME, clock, s.address(), 0, 0, 0, 0);
        return s.get(ValueLayout.JAVA_LONG, 0) * 1_000_000_000L + s.get(ValueLayout.JAVA_LONG, 8);
    }
}
