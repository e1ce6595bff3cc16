package dev.hako.sys;

import java.lang.foreign.MemorySegment;

/** {@code <sys/random.h>}: the host kernel's getrandom(2), written straight into native memory. */
public final class HostRandom {
    private static final long SYS_GETRANDOM = 318;
    private static final int EINTR = 4;

    private HostRandom() {}

    /** Fills {@code length} bytes of {@code segment} at {@code offset} from the host's urandom pool. */
    public static void fill(MemorySegment segment, long offset, long length) {
        if (offset < 0 || length < 0 || offset > segment.byteSize() - length) {
            throw new IndexOutOfBoundsException("getrandom into " + offset + "+" + length + " of "
                    + segment.byteSize() + " bytes");
        }
        long done = 0;
        while (done < length) {
            long r = Libc.syscall(SYS_GETRANDOM, segment.address() + offset + done, length - done, 0, 0, 0, 0);
            if (r > 0) {
                done += r;
            } else if (r != -EINTR) {
                throw new IllegalStateException("getrandom failed: errno " + -r);
            }
        }
    }
}
