package dev.hako.sys;

import java.lang.foreign.MemorySegment;

/** Gateway to {@code ioctl(2)} through the raw syscall: results are the kernel's, non-negative or -errno. */
public final class Ioctl {
    private static final long SYS_IOCTL = 16;

    private Ioctl() {}

    /** {@code ioctl(fd, request, arg)} with an integer argument; returns the result or {@code -errno}. */
    public static long call(int fd, long request, long arg) {
        return Libc.syscall(SYS_IOCTL, fd, request, arg, 0, 0, 0);
    }

    /** {@code ioctl(fd, request, &struct)}; returns the result or {@code -errno}. */
    public static long call(int fd, long request, MemorySegment struct) {
        return Libc.syscall(SYS_IOCTL, fd, request, struct.address(), 0, 0, 0);
    }
}
