package dev.hako.sys;

import java.lang.foreign.Arena;

/** Gateway to {@code <stdio.h>}'s {@code renameat2(2)}: what {@link java.nio.file.Files#move} cannot do. */
public final class Stdio {
    private static final long SYS_RENAMEAT2 = 316;
    private static final int AT_FDCWD = -100;
    private static final int RENAME_EXCHANGE = 2;

    private Stdio() {}

    /**
     * Swaps the names of {@code a} and {@code b} in one step ({@code RENAME_EXCHANGE}): both must exist, and may be
     * directories. Returns 0 or {@code -errno} ({@code EINVAL} where the file system cannot exchange).
     */
    public static int exchange(String a, String b) {
        try (Arena arena = Arena.ofConfined()) {
            return (int) Libc.syscall(SYS_RENAMEAT2, AT_FDCWD, arena.allocateFrom(a).address(), AT_FDCWD,
                    arena.allocateFrom(b).address(), RENAME_EXCHANGE, 0);
        }
    }
}
