package dev.hako.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Gateway to {@code <fcntl.h>} and {@code close(2)}: file descriptors for device nodes such as /dev/kvm. */
public final class Fcntl {
    public static final int O_RDONLY = 0, O_RDWR = 2, O_CLOEXEC = 0x80000;
    private static final long SYS_CLOSE = 3, SYS_OPENAT = 257;
    private static final int AT_FDCWD = -100;

    private Fcntl() {}

    /** Opens {@code path}; returns the descriptor or {@code -errno}. */
    public static int open(String path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment name = arena.allocateFrom(path);
            return (int) Libc.syscall(SYS_OPENAT, AT_FDCWD, name.address(), flags, 0, 0, 0);
        }
    }

    /** Closes {@code fd}; returns 0 or {@code -errno}. */
    public static int close(int fd) {
        return (int) Libc.syscall(SYS_CLOSE, fd, 0, 0, 0, 0, 0);
    }
}
