package dev.hako.kvm;

import dev.hako.kvm.abi.KvmIoctls;
import dev.hako.sys.Errno;

/** A KVM call the host refused: names the call and the errno. */
public final class KvmException extends RuntimeException {
    private final long errno;

    public KvmException(String call, long errno) {
        super(call + " failed: " + Errno.describe(errno));
        this.errno = errno;
    }

    public KvmException(String message) {
        super(message);
        this.errno = 0;
    }

    public long errno() {
        return errno;
    }

    /** Returns {@code result} of ioctl {@code request}, or throws if it is {@code -errno}. */
    static long check(long result, long request) {
        if (result < 0) {
            throw new KvmException(KvmIoctls.name(request), -result);
        }
        return result;
    }
}
