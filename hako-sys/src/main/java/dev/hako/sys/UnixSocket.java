package dev.hako.sys;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Gateway to {@code <sys/socket.h>}, {@code <sys/un.h>} and {@code <poll.h>} for AF_UNIX stream sockets held as raw
 * descriptors: what a {@code SocketChannel} cannot do, which is to hand a descriptor to another process
 * ({@code SCM_RIGHTS}, unix(7)) and to take one over. Data moves with {@code recvfrom}/{@code sendto} and
 * {@code MSG_DONTWAIT} straight to and from native memory (raw syscalls: nothing allocated per call, and the
 * descriptor's own blocking mode, shared with every process holding it, does not matter); {@code MSG_NOSIGNAL}, so a
 * peer that went away is EPIPE and never a signal. Descriptors are close-on-exec.
 */
public final class UnixSocket {
    private static final long SYS_SOCKET = 41, SYS_CONNECT = 42,
            SYS_SENDTO = 44, SYS_RECVFROM = 45, SYS_SENDMSG = 46, SYS_RECVMSG = 47, SYS_BIND = 49, SYS_LISTEN = 50,
            SYS_SOCKETPAIR = 53, SYS_ACCEPT4 = 288;
    private static final int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_CLOEXEC = 0x80000;
    private static final int MSG_DONTWAIT = 0x40, MSG_NOSIGNAL = 0x4000, MSG_CMSG_CLOEXEC = 0x40000000;
    private static final int SOL_SOCKET = 1, SCM_RIGHTS = 1;
    public static final int EAGAIN = 11;
    private static final int EINTR = 4;
    /** sockaddr_un: sa_family_t and 108 bytes of path. */
    private static final int SOCKADDR_UN = 110, SUN_PATH = 2;
    /** msghdr, iovec and a cmsghdr holding one int (CMSG_SPACE(sizeof(int))), x86-64 layouts. */
    private static final int MSGHDR = 56, IOVEC = 16, CMSG_ONE_FD = 24, CMSG_LEN_ONE_FD = 20;

    private UnixSocket() {}

    /** A connected socket to the listener at {@code path}. */
    public static int connect(Path path) throws IOException {
        int fd = newSocket();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = address(arena, path);
            long r;
            do {
                r = Libc.syscall(SYS_CONNECT, fd, address.address(), SOCKADDR_UN, 0, 0, 0);
            } while (r == -EINTR);
            if (r < 0) {
                close(fd);
                throw new IOException(path + ": cannot connect: " + Errno.describe(-r));
            }
        }
        return fd;
    }

    /** A socket listening at {@code path} (which must not exist), for one connection at a time. */
    public static int listen(Path path) throws IOException {
        int fd = newSocket();
        try (Arena arena = Arena.ofConfined()) {
            long r = Libc.syscall(SYS_BIND, fd, address(arena, path).address(), SOCKADDR_UN, 0, 0, 0);
            if (r == 0) {
                r = Libc.syscall(SYS_LISTEN, fd, 1, 0, 0, 0, 0);
            }
            if (r < 0) {
                close(fd);
                throw new IOException(path + ": cannot listen: " + Errno.describe(-r));
            }
        }
        return fd;
    }

    /** The next connection on {@code listener}, or -1 when none came within {@code millis}. */
    public static int accept(int listener, int millis) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pollfd = Poll.pollfd(arena);
            if (poll(pollfd, listener, Poll.POLLIN, millis) == 0) {
                return -1;
            }
        }
        long fd;
        do {
            fd = Libc.syscall(SYS_ACCEPT4, listener, 0, 0, SOCK_CLOEXEC, 0, 0);
        } while (fd == -EINTR);
        if (fd < 0) {
            throw new IOException("accept: " + Errno.describe(-fd));
        }
        return (int) fd;
    }

    /** Two connected sockets. */
    public static int[] pair() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(ValueLayout.JAVA_INT, 2);
            long r = Libc.syscall(SYS_SOCKETPAIR, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.address(), 0, 0);
            if (r < 0) {
                throw new IOException("socketpair: " + Errno.describe(-r));
            }
            return new int[] {fds.getAtIndex(ValueLayout.JAVA_INT, 0), fds.getAtIndex(ValueLayout.JAVA_INT, 1)};
        }
    }

    /**
     * Reads at most {@code length} bytes into native memory at {@code address} without blocking: the count, 0 at the
     * end of the stream, {@code -EAGAIN} when nothing is there, another {@code -errno} on failure.
     */
    public static long receive(int fd, long address, long length) {
        long r;
        do {
            r = Libc.syscall(SYS_RECVFROM, fd, address, length, MSG_DONTWAIT, 0, 0);
        } while (r == -EINTR);
        return r;
    }

    /** Writes at most {@code length} bytes from native memory without blocking: the count, or {@code -errno}. */
    public static long send(int fd, long address, long length) {
        long r;
        do {
            r = Libc.syscall(SYS_SENDTO, fd, address, length, MSG_DONTWAIT | MSG_NOSIGNAL, 0, 0);
        } while (r == -EINTR);
        return r;
    }

    /** {@link Poll#poll}, a failure as an {@link IOException}: the events that came, 0 when none did. */
    private static long poll(MemorySegment pollfd, int fd, short events, int millis) throws IOException {
        long r = Poll.poll(pollfd, fd, events, millis);
        if (r < 0) {
            throw new IOException("poll: " + Errno.describe(-r));
        }
        return r;
    }

    /**
     * Sends the descriptor {@code passed} over {@code fd} with {@code data} (a 4-byte length, then the bytes), all
     * of it within {@code millis}: the receiver gets its own descriptor for the same open socket or file.
     */
    public static void sendDescriptor(int fd, int passed, byte[] data, int millis) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bytes = arena.allocate(4 + data.length);
            bytes.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 0, data.length);
            MemorySegment.copy(data, 0, bytes, ValueLayout.JAVA_BYTE, 4, data.length);
            MemorySegment control = arena.allocate(CMSG_ONE_FD, 8);
            control.set(ValueLayout.JAVA_LONG, 0, CMSG_LEN_ONE_FD);
            control.set(ValueLayout.JAVA_INT, 8, SOL_SOCKET);
            control.set(ValueLayout.JAVA_INT, 12, SCM_RIGHTS);
            control.set(ValueLayout.JAVA_INT, 16, passed);
            MemorySegment msg = messageHeader(arena, bytes, control);
            long sent = awaitThen(arena, fd, Poll.POLLOUT, deadline,
                    () -> Libc.syscall(SYS_SENDMSG, fd, msg.address(), MSG_DONTWAIT | MSG_NOSIGNAL, 0, 0, 0));
            if (sent < 0) {
                throw new IOException("sendmsg with a descriptor: " + Errno.describe(-sent));
            }
            writeFully(arena, fd, bytes.asSlice(sent), deadline);
        }
    }

    /** A {@code struct msghdr} for {@code data} (one iovec) and the room {@code control} for one descriptor. */
    private static MemorySegment messageHeader(Arena arena, MemorySegment data, MemorySegment control) {
        MemorySegment iov = arena.allocate(IOVEC, 8);
        iov.set(ValueLayout.JAVA_LONG, 0, data.address());
        iov.set(ValueLayout.JAVA_LONG, 8, data.byteSize());
        MemorySegment msg = arena.allocate(MSGHDR, 8);
        msg.set(ValueLayout.JAVA_LONG, 16, iov.address());
        msg.set(ValueLayout.JAVA_LONG, 24, 1);
        msg.set(ValueLayout.JAVA_LONG, 32, control.address());
        msg.set(ValueLayout.JAVA_LONG, 40, CMSG_ONE_FD);
        return msg;
    }

    /** A descriptor received with the bytes sent beside it. */
    public record Received(int descriptor, byte[] data) {}

    /**
     * Receives what {@link #sendDescriptor} sent, within {@code millis}, refusing more than {@code maxBytes} of
     * data; an {@link IOException} when the peer closed, fell silent or sent no descriptor.
     */
    public static Received receiveDescriptor(int fd, int maxBytes, int millis) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment length = arena.allocate(4);
            MemorySegment control = arena.allocate(CMSG_ONE_FD, 8);
            MemorySegment msg = messageHeader(arena, length, control);
            long got = awaitThen(arena, fd, Poll.POLLIN, deadline,
                    () -> Libc.syscall(SYS_RECVMSG, fd, msg.address(), MSG_DONTWAIT | MSG_CMSG_CLOEXEC, 0, 0, 0));
            if (got < 0) {
                throw new IOException("recvmsg: " + Errno.describe(-got));
            }
            if (got == 0) {
                throw new IOException("the peer closed the socket before it sent a descriptor");
            }
            boolean hasDescriptor = msg.get(ValueLayout.JAVA_LONG, 40) >= CMSG_LEN_ONE_FD
                    && control.get(ValueLayout.JAVA_INT, 8) == SOL_SOCKET
                    && control.get(ValueLayout.JAVA_INT, 12) == SCM_RIGHTS;
            if (!hasDescriptor) {
                throw new IOException("the peer sent bytes without a descriptor");
            }
            int received = control.get(ValueLayout.JAVA_INT, 16);
            try {
                readFully(arena, fd, length.asSlice(got), deadline);
                int n = length.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 0);
                if (n < 0 || n > maxBytes) {
                    throw new IOException("the peer announced " + n + " bytes beside its descriptor, at most "
                            + maxBytes + " were expected");
                }
                MemorySegment data = arena.allocate(Math.max(n, 1));
                readFully(arena, fd, data.asSlice(0, n), deadline);
                return new Received(received, data.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE));
            } catch (IOException e) {
                close(received);
                throw e;
            }
        }
    }

    /** Writes all of {@code bytes} within the deadline. */
    public static void writeFully(Arena arena, int fd, MemorySegment bytes, long deadline) throws IOException {
        long done = 0;
        while (done < bytes.byteSize()) {
            long at = done;
            long n = awaitThen(arena, fd, Poll.POLLOUT, deadline,
                    () -> send(fd, bytes.address() + at, bytes.byteSize() - at));
            if (n < 0) {
                throw new IOException("send: " + Errno.describe(-n));
            }
            done += n;
        }
    }

    private static void readFully(Arena arena, int fd, MemorySegment into, long deadline) throws IOException {
        long done = 0;
        while (done < into.byteSize()) {
            long at = done;
            long n = awaitThen(arena, fd, Poll.POLLIN, deadline,
                    () -> receive(fd, into.address() + at, into.byteSize() - at));
            if (n < 0) {
                throw new IOException("recv: " + Errno.describe(-n));
            }
            if (n == 0) {
                throw new IOException("the peer closed the socket half-way through a message");
            }
            done += n;
        }
    }

    /** Runs {@code call} until it does not answer EAGAIN, polling for {@code events} between tries. */
    private static long awaitThen(Arena arena, int fd, short events, long deadline, LongSupplier call)
            throws IOException {
        MemorySegment pollfd = Poll.pollfd(arena);
        while (true) {
            long r = call.getAsLong();
            if (r != -EAGAIN) {
                return r;
            }
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) {
                throw new IOException("the peer did not take or give data in time");
            }
            poll(pollfd, fd, events, (int) Math.min(left, Integer.MAX_VALUE));
        }
    }

    /** Closes {@code fd}; quietly (a descriptor is gone after close whatever it answers). */
    public static void close(int fd) {
        if (fd >= 0) {
            Fcntl.close(fd);
        }
    }

    private static int newSocket() throws IOException {
        long fd = Libc.syscall(SYS_SOCKET, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, 0, 0, 0);
        if (fd < 0) {
            throw new IOException("socket(AF_UNIX): " + Errno.describe(-fd));
        }
        return (int) fd;
    }

    private static MemorySegment address(Arena arena, Path path) throws IOException {
        byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
        if (name.length >= SOCKADDR_UN - SUN_PATH) {
            throw new IOException(path + ": longer than a UNIX socket's path may be (107 bytes)");
        }
        MemorySegment address = arena.allocate(SOCKADDR_UN, 2);
        address.set(ValueLayout.JAVA_SHORT, 0, (short) AF_UNIX);
        MemorySegment.copy(name, 0, address, ValueLayout.JAVA_BYTE, SUN_PATH, name.length);
        return address;
    }
}
