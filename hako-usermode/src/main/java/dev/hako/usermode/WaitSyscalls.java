package dev.hako.usermode;

/**
 * wait4 and waitid: reap a child that has ended, with Linux's status encoding (exit code << 8, or the
 * signal number; no core-dump bit, as no core is written). The wait ends when a child ends (its exit
 * wakes the parent's threads) or a signal arrives (restarted under SA_RESTART). Stopped and continued
 * children are never reported: there is no job control (WUNTRACED and WCONTINUED find nothing).
 */
final class WaitSyscalls {
    static final int WAIT4 = 61, WAITID = 247;
    private static final int WNOHANG = 1, WEXITED = 4, WNOWAIT = 0x01000000;
    private static final int P_ALL = 0, P_PID = 1, P_PGID = 2;
    private static final long RUSAGE_SIZE = 144;

    private WaitSyscalls() {}

    static void register(SyscallTable t) {
        t.add(WAIT4, WaitSyscalls::wait4);
        t.add(WAITID, WaitSyscalls::waitid);
    }

    private static long wait4(GuestProcess p, long pidArg, long statusAddr, long options, long rusage, long a4,
            long a5) {
        int pid = (int) pidArg; // pid_t: an int in a 64-bit register
        if ((options & ~(WNOHANG | 2 | 8 | 0x20000000L | 0x40000000L | 0x80000000L)) != 0) {
            return -Errno.EINVAL;
        }
        if (p.outOrNull(statusAddr, 4) < 0 || p.outOrNull(rusage, RUSAGE_SIZE) < 0) {
            return -Errno.EFAULT;
        }
        int match = pid <= 0 ? 0 : pid; // -1: any child; process groups are the whole tree here
        int[] status = new int[1];
        long r = await(p, match, (options & WNOHANG) != 0, true, status);
        if (r <= 0) {
            return r;
        }
        if (statusAddr != 0) {
            p.space.writeInt(statusAddr, status[0]);
        }
        if (rusage != 0) {
            for (long k = 0; k < RUSAGE_SIZE; k += 8) {
                p.space.writeLong(rusage + k, 0);
            }
        }
        return r;
    }

    private static long waitid(GuestProcess p, long idtype, long id, long infop, long options, long rusage, long a5) {
        if ((options & WEXITED) == 0 || idtype < P_ALL || idtype > P_PGID) {
            return -Errno.EINVAL;
        }
        if (p.outOrNull(infop, SignalInfo.SIZE) < 0 || p.outOrNull(rusage, RUSAGE_SIZE) < 0) {
            return -Errno.EFAULT;
        }
        int match = idtype == P_PID ? (int) id : 0;
        int[] status = new int[1];
        long r = await(p, match, (options & WNOHANG) != 0, (options & WNOWAIT) == 0, status);
        if (r < 0) {
            return r;
        }
        if (infop != 0) {
            boolean killed = (status[0] & 0x7F) != 0;
            SignalInfo info = r == 0 ? new SignalInfo(0, 0, 0, 0, 0) : new SignalInfo(SignalInfo.SIGCHLD,
                    killed ? SignalInfo.CLD_KILLED : SignalInfo.CLD_EXITED, r & 0xFFFF_FFFFL,
                    killed ? status[0] & 0x7F : (status[0] >> 8) & 0xFF, 0);
            info.write(p.space, infop);
        }
        return 0;
    }

    private static int encoded(GuestProcess child) {
        int status = child.waitStatus();
        return status == GuestProcess.INTERNAL_ERROR ? SignalInfo.SIGKILL : status;
    }

    /**
     * Waits for a zombie child ({@code pid} 0: any) and reaps it unless {@code reap} is false; returns its
     * pid (its wait status in {@code status[0]}), 0 for WNOHANG with none ready, -ECHILD, or -ERESTARTSYS.
     */
    private static long await(GuestProcess p, int pid, boolean noHang, boolean reap, int[] status) {
        GuestThread self = GuestThread.current();
        ProcessTable table = p.table;
        while (true) {
            synchronized (table) {
                boolean any = false;
                for (GuestProcess c : p.children) {
                    if (pid != 0 && c.pid != pid) {
                        continue;
                    }
                    any = true;
                    if (c.zombie) {
                        if (reap) {
                            table.reap(c);
                        }
                        status[0] = encoded(c);
                        return c.pid;
                    }
                }
                if (!any) {
                    return -Errno.ECHILD;
                }
            }
            if (noHang) {
                return 0;
            }
            if (self.interrupted()) {
                return -SignalDelivery.ERESTARTSYS;
            }
            self.sleep(-1);
        }
    }
}
