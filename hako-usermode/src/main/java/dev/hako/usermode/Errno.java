package dev.hako.usermode;

/** Linux errno values (asm-generic/errno-base.h, errno.h) that the emulation itself returns, negated by callers. */
final class Errno {
    static final int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, EBADF = 9, EAGAIN = 11, ENOMEM = 12,
            EACCES = 13, EFAULT = 14, EEXIST = 17, ENOTDIR = 20, EINVAL = 22, EMFILE = 24, ENOTTY = 25,
            ERANGE = 34, EDEADLK = 35, ENAMETOOLONG = 36, ENOSYS = 38, ELOOP = 40, ENODEV = 19, ENOTSUP = 95,
            ETIMEDOUT = 110, EPIPE = 32, EISDIR = 21, ENODATA = 61, ECHILD = 10, ENOEXEC = 8, E2BIG = 7;

    private Errno() {}
}
