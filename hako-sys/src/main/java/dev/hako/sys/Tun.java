package dev.hako.sys;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * Gateway to {@code <linux/if_tun.h>}: a TAP device's file descriptor from /dev/net/tun (TUNSETIFF with
 * IFF_TAP | IFF_NO_PI, and IFF_VNET_HDR for a virtio-net header before each frame, whose size TUNSETVNETHDRSZ
 * sets), the offloads the kernel may hand it (TUNSETOFFLOAD), and the non-blocking {@code read} and {@code write}
 * a frame pump needs (its wait is {@link Poll}), through raw syscalls straight on native memory: a frame allocates
 * nothing.
 */
public final class Tun {
    public static final int IFF_TAP = 0x0002, IFF_NO_PI = 0x1000, IFF_VNET_HDR = 0x4000;
    /** Offloads the kernel may hand the TAP's reader (TUNSETOFFLOAD). */
    public static final int TUN_F_CSUM = 0x01, TUN_F_TSO4 = 0x02, TUN_F_TSO6 = 0x04, TUN_F_TSO_ECN = 0x08;
    /** _IOW('T', 202, int), _IOW('T', 208, unsigned int), _IOW('T', 216, int). */
    private static final long TUNSETIFF = 0x400454CAL, TUNSETOFFLOAD = 0x400454D0L, TUNSETVNETHDRSZ = 0x400454D8L;
    private static final long SYS_READ = 0, SYS_WRITE = 1;
    private static final int O_NONBLOCK = 0x800, IFNAMSIZ = 16, IFREQ_SIZE = 40, IFREQ_FLAGS = 16;
    private static final int EINTR = 4, EAGAIN = 11, EPERM = 1, EBUSY = 16;

    private Tun() {}

    /**
     * Attaches to TAP device {@code name}, creating it when it does not exist and the caller may (CAP_NET_ADMIN),
     * non-blocking, with a {@code vnetHeaderBytes} virtio-net header before each frame (0 for none). Returns the
     * descriptor.
     */
    public static int openTap(String name, int vnetHeaderBytes) throws IOException {
        byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
        if (bytes.length == 0 || bytes.length >= IFNAMSIZ || !name.matches("[A-Za-z0-9_.-]+")) {
            throw new IOException("TAP device name '" + name + "' is not 1 to 15 letters, digits, '_', '.', '-'");
        }
        int fd = Fcntl.open("/dev/net/tun", Fcntl.O_RDWR | Fcntl.O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) {
            throw new IOException("/dev/net/tun: cannot open: " + Errno.describe(-fd));
        }
        boolean attached = false;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ifreq = arena.allocate(IFREQ_SIZE);
            MemorySegment.copy(bytes, 0, ifreq, ValueLayout.JAVA_BYTE, 0, bytes.length);
            int flags = IFF_TAP | IFF_NO_PI | (vnetHeaderBytes > 0 ? IFF_VNET_HDR : 0);
            ifreq.set(ValueLayout.JAVA_SHORT, IFREQ_FLAGS, (short) flags);
            long r = Ioctl.call(fd, TUNSETIFF, ifreq);
            if (r < 0) {
                String why = switch ((int) -r) {
                    case EPERM -> "not allowed to create it or to use it (CAP_NET_ADMIN, or a TAP made for this user)";
                    case EBUSY -> "in use by another program";
                    default -> "";
                };
                throw new IOException("TAP device " + name + ": " + why + (why.isEmpty() ? "" : ", ")
                        + "TUNSETIFF failed with " + Errno.describe(-r));
            }
            if (vnetHeaderBytes > 0) {
                MemorySegment size = arena.allocate(ValueLayout.JAVA_INT);
                size.set(ValueLayout.JAVA_INT, 0, vnetHeaderBytes);
                r = Ioctl.call(fd, TUNSETVNETHDRSZ, size);
                if (r < 0) {
                    throw new IOException("TAP device " + name + ": TUNSETVNETHDRSZ failed with " + Errno.describe(-r));
                }
            }
            attached = true;
        } finally {
            if (!attached) {
                Fcntl.close(fd);
            }
        }
        return fd;
    }

    /** The offloads (TUN_F_*) the kernel may use in frames it hands this TAP's reader; 0 or -errno. */
    public static long setOffload(int fd, int offloads) {
        return Ioctl.call(fd, TUNSETOFFLOAD, offloads);
    }

    /** One frame into {@code length} bytes at native address {@code address}: its length, 0 for none, or -errno. */
    public static long read(int fd, long address, long length) {
        long r;
        do {
            r = Libc.syscall(SYS_READ, fd, address, length, 0, 0, 0);
        } while (r == -EINTR);
        return r == -EAGAIN ? 0 : r;
    }

    /** Writes one frame; its length, 0 when the TAP cannot take it now, or -errno. */
    public static long write(int fd, long address, long length) {
        long r;
        do {
            r = Libc.syscall(SYS_WRITE, fd, address, length, 0, 0, 0);
        } while (r == -EINTR);
        return r == -EAGAIN ? 0 : r;
    }
}
