package dev.hako.usermode;

import static dev.hako.usermode.Errno.EFAULT;
import static dev.hako.usermode.Errno.EINVAL;
import static dev.hako.usermode.Errno.ENOSYS;
import static dev.hako.usermode.Errno.EPERM;
import static dev.hako.usermode.Errno.ESRCH;

import dev.hako.soft.exec.Cpu;
import dev.hako.sys.Libc;

/**
 * Process-wide syscalls: ending a thread or the process, identities, thread setup that glibc's startup does
 * (TLS through arch_prctl, set_tid_address, robust lists), resource limits and system information. The
 * initial process has the host JVM's pid and parent; later processes and threads get ids counted up from
 * it (see {@link ProcessTable}); uids and gids are the host's.
 */
final class ProcessSyscalls {
    static final int SCHED_YIELD = 24, GETPID = 39, EXIT = 60, UNAME = 63, UMASK = 95, GETRLIMIT = 97,
            GETRUSAGE = 98, SYSINFO = 99, TIMES = 100, GETUID = 102, GETGID = 104, GETEUID = 107, GETEGID = 108,
            SETPGID = 109, GETPPID = 110, GETPGRP = 111, SETSID = 112, GETGROUPS = 115, GETRESUID = 118,
            GETRESGID = 120, GETPGID = 121, GETSID = 124, PRCTL = 157, ARCH_PRCTL = 158, SETRLIMIT = 160,
            GETTID = 186, SCHED_SETAFFINITY = 203, SCHED_GETAFFINITY = 204, SET_TID_ADDRESS = 218,
            EXIT_GROUP = 231, SET_ROBUST_LIST = 273, PRLIMIT64 = 302, GETCPU = 309, RSEQ = 334;
    private static final int ARCH_SET_GS = 0x1001, ARCH_SET_FS = 0x1002, ARCH_GET_FS = 0x1003, ARCH_GET_GS = 0x1004;
    private static final int RLIMIT_STACK = 3, RLIMIT_NOFILE = 7;
    private static final long STACK_LIMIT = 8L << 20;
    private static final int PR_SET_NAME = 15, PR_GET_NAME = 16;

    private ProcessSyscalls() {}

    static void register(SyscallTable t) {
        t.add(EXIT, (p, status, a1, a2, a3, a4, a5) -> exitThread(p, status));
        t.add(EXIT_GROUP, (p, status, a1, a2, a3, a4, a5) -> exit(p, status));
        t.add(GETPID, (p, a0, a1, a2, a3, a4, a5) -> p.pid);
        t.add(GETTID, (p, a0, a1, a2, a3, a4, a5) -> GuestThread.current().tid);
        t.add(GETPPID, (p, a0, a1, a2, a3, a4, a5) -> {
            GuestProcess parent = p.parent;
            if (parent != null) {
                return parent.pid;
            }
            return p.pid == p.table.hostPid ? Libc.syscall(GETPPID, 0, 0, 0, 0, 0, 0) : 1;
        });
        for (int nr : new int[] {GETUID, GETGID, GETEUID, GETEGID, GETPGRP}) {
            t.add(nr, (p, a0, a1, a2, a3, a4, a5) -> Libc.syscall(nr, 0, 0, 0, 0, 0, 0));
        }
        t.add(GETPGID, (p, pid, a1, a2, a3, a4, a5) -> self(p, pid) ? Libc.syscall(GETPGID, 0, 0, 0, 0, 0, 0) : -ESRCH);
        t.add(GETSID, (p, pid, a1, a2, a3, a4, a5) -> self(p, pid) ? Libc.syscall(GETSID, 0, 0, 0, 0, 0, 0) : -ESRCH);
        t.add(SETPGID, (p, a0, a1, a2, a3, a4, a5) -> -EPERM);
        t.add(SETSID, (p, a0, a1, a2, a3, a4, a5) -> -EPERM);
        t.add(GETGROUPS, (p, size, list, a2, a3, a4, a5) -> {
            long host = size == 0 ? 0 : p.out(list, size * 4);
            return host < 0 ? -EFAULT : Libc.syscall(GETGROUPS, size, host, 0, 0, 0, 0);
        });
        t.add(GETRESUID, (p, r, e, s, a3, a4, a5) -> threeIds(p, GETRESUID, r, e, s));
        t.add(GETRESGID, (p, r, e, s, a3, a4, a5) -> threeIds(p, GETRESGID, r, e, s));
        t.add(UMASK, (p, mask, a1, a2, a3, a4, a5) -> Libc.syscall(UMASK, mask & 0777, 0, 0, 0, 0, 0));
        t.add(UNAME, (p, buf, a1, a2, a3, a4, a5) -> outStruct(p, UNAME, buf, 390));
        t.add(SYSINFO, (p, buf, a1, a2, a3, a4, a5) -> outStruct(p, SYSINFO, buf, 112));
        t.add(GETRUSAGE, (p, who, buf, a2, a3, a4, a5) -> {
            long host = p.out(buf, 144);
            return host < 0 ? -EFAULT : Libc.syscall(GETRUSAGE, who, host, 0, 0, 0, 0);
        });
        t.add(TIMES, (p, buf, a1, a2, a3, a4, a5) -> {
            long host = p.outOrNull(buf, 32);
            return host < 0 ? -EFAULT : Libc.syscall(TIMES, host, 0, 0, 0, 0, 0);
        });
        t.add(ARCH_PRCTL, ProcessSyscalls::archPrctl);
        t.add(SET_TID_ADDRESS, (p, addr, a1, a2, a3, a4, a5) -> {
            GuestThread self = GuestThread.current();
            self.clearChildTid = addr;
            return self.tid;
        });
        t.add(SET_ROBUST_LIST, (p, head, len, a2, a3, a4, a5) -> len == 24 ? 0 : -EINVAL);
        t.add(RSEQ, (p, a0, a1, a2, a3, a4, a5) -> -ENOSYS); // restartable sequences: not offered, as Linux < 4.18
        t.add(PRLIMIT64, (p, pid, resource, newLimit, oldLimit, a4, a5) ->
                self(p, pid) ? limits(p, resource, newLimit, oldLimit) : -ESRCH);
        t.add(GETRLIMIT, (p, resource, old, a2, a3, a4, a5) -> limits(p, resource, 0, old == 0 ? -1 : old));
        t.add(SETRLIMIT, (p, resource, limit, a2, a3, a4, a5) -> limits(p, resource, limit, 0));
        t.add(SCHED_GETAFFINITY, (p, pid, size, mask, a3, a4, a5) -> {
            if (!self(p, pid)) {
                return -ESRCH;
            }
            long host = p.out(mask, size);
            return host < 0 ? -EFAULT : Libc.syscall(SCHED_GETAFFINITY, 0, size, host, 0, 0, 0);
        });
        t.add(SCHED_SETAFFINITY, (p, pid, size, mask, a3, a4, a5) -> self(p, pid) ? 0 : -ESRCH);
        t.add(SCHED_YIELD, (p, a0, a1, a2, a3, a4, a5) -> 0);
        t.add(GETCPU, (p, cpu, node, cache, a3, a4, a5) -> {
            if (p.outOrNull(cpu, 4) < 0 || p.outOrNull(node, 4) < 0) {
                return -EFAULT;
            }
            if (cpu != 0) {
                p.space.writeInt(cpu, 0);
            }
            if (node != 0) {
                p.space.writeInt(node, 0);
            }
            return 0;
        });
        t.add(PRCTL, ProcessSyscalls::prctl);
    }

    private static boolean self(GuestProcess p, long pid) {
        return pid == 0 || pid == p.pid;
    }

    private static long exit(GuestProcess p, long status) {
        p.exit((int) status);
        return 0;
    }

    /** exit: the calling thread ends; the process ends with this status if it was the last thread. */
    private static long exitThread(GuestProcess p, long status) {
        p.setExitStatusIfFirst(((int) status & 0xFF) << 8);
        GuestThread.current().stopSelf();
        return 0;
    }

    private static long outStruct(GuestProcess p, int nr, long buf, long size) {
        long host = p.out(buf, size);
        return host < 0 ? -EFAULT : Libc.syscall(nr, host, 0, 0, 0, 0, 0);
    }

    private static long threeIds(GuestProcess p, int nr, long r, long e, long s) {
        long hr = p.out(r, 4), he = p.out(e, 4), hs = p.out(s, 4);
        return hr < 0 || he < 0 || hs < 0 ? -EFAULT : Libc.syscall(nr, hr, he, hs, 0, 0, 0);
    }

    private static long archPrctl(GuestProcess p, long code, long addr, long a2, long a3, long a4, long a5) {
        switch ((int) code) {
            case ARCH_SET_FS, ARCH_SET_GS -> {
                if (addr < 0 || addr >= (1L << 47)) {
                    return -EPERM;
                }
                if (code == ARCH_SET_FS) {
                    GuestThread.current().cpu().fsBase = addr;
                } else {
                    GuestThread.current().cpu().gsBase = addr;
                }
                return 0;
            }
            case ARCH_GET_FS, ARCH_GET_GS -> {
                if (p.out(addr, 8) < 0) {
                    return -EFAULT;
                }
                Cpu cpu = GuestThread.current().cpu();
                p.space.writeLong(addr, code == ARCH_GET_FS ? cpu.fsBase : cpu.gsBase);
                return 0;
            }
            default -> {
                return -EINVAL;
            }
        }
    }

    /**
     * Limits are the host's as read, except the stack (the 8 MiB the guest stack has) and open files (the
     * guest fd table's size). Setting a limit is accepted and has no effect: the JVM's own limits are left alone.
     */
    private static long limits(GuestProcess p, long resource, long newLimit, long oldLimit) {
        if (resource < 0 || resource >= 16) {
            return -EINVAL;
        }
        if (newLimit != 0 && p.in(newLimit, 16) < 0) {
            return -EFAULT;
        }
        if (oldLimit != 0) {
            if (oldLimit == -1 || p.out(oldLimit, 16) < 0) {
                return -EFAULT;
            }
            long r = Libc.syscall(PRLIMIT64, 0, resource, 0, p.out(oldLimit, 16), 0, 0);
            if (r < 0) {
                return r;
            }
            if (resource == RLIMIT_STACK) {
                p.space.writeLong(oldLimit, STACK_LIMIT);
            } else if (resource == RLIMIT_NOFILE) {
                p.space.writeLong(oldLimit, FdTable.MAX);
                p.space.writeLong(oldLimit + 8, FdTable.MAX);
            }
        }
        return 0;
    }

    private static long prctl(GuestProcess p, long option, long arg, long a2, long a3, long a4, long a5) {
        if (option == PR_SET_NAME) {
            return p.in(arg, 1) < 0 ? -EFAULT : 0;
        }
        if (option == PR_GET_NAME) {
            if (p.out(arg, 16) < 0) {
                return -EFAULT;
            }
            byte[] name = new byte[16];
            byte[] n = p.name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            System.arraycopy(n, 0, name, 0, Math.min(15, n.length));
            p.space.writeBytes(arg, name, 0, 16);
            return 0;
        }
        return -EINVAL;
    }
}
