package dev.hako.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Gateway to {@code <poll.h>}: waiting for one descriptor through a {@code struct pollfd} the caller allocated once,
 * so a frame pump's wait allocates nothing. Used by the TAP and AF_UNIX backends alike.
 */
public final class Poll {
    public static final short POLLIN = 0x001, POLLOUT = 0x004, POLLERR = 0x008, POLLHUP = 0x010;
    private static final long SYS_POLL = 7;
    private static final int EINTR = 4;

    private Poll() {}

    /** A {@code struct pollfd} (8 bytes) for {@link #poll}, allocated in {@code arena}. */
    public static MemorySegment pollfd(Arena arena) {
        return arena.allocate(8, 4);
    }

    /**
     * Waits up to {@code millis} (negative: forever) for {@code events} on {@code fd} through {@code pollfd}: the
     * events that came (POLLHUP and POLLERR as they are), 0 on timeout or a signal, or -errno.
     */
    public static long poll(MemorySegment pollfd, int fd, int events, int millis) {
        pollfd.set(ValueLayout.JAVA_INT, 0, fd);
        pollfd.set(ValueLayout.JAVA_SHORT, 4, (short) events);
        pollfd.set(ValueLayout.JAVA_SHORT, 6, (short) 0);
        long r = Libc.syscall(SYS_POLL, pollfd.address(), 1, millis, 0, 0, 0);
        if (r == -EINTR) {
            return 0;
        }
        return r <= 0 ? r : pollfd.get(ValueLayout.JAVA_SHORT, 6) & 0xFFFF;
    }

    /** Whether {@code events} from {@link #poll} say the peer hung up or the descriptor failed. */
    public static boolean hungUp(long events) {
        return events > 0 && (events & (POLLHUP | POLLERR)) != 0;
    }
}
