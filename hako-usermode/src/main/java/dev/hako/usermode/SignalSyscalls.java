package dev.hako.usermode;

import static dev.hako.usermode.Errno.EFAULT;
import static dev.hako.usermode.Errno.EINVAL;
import static dev.hako.usermode.Errno.ESRCH;

/**
 * Signal syscalls. Dispositions, the blocked mask and the alternate stack are recorded and reported back
 * faithfully, but <b>signals are not delivered yet</b>: no guest handler is ever called. A signal the
 * process sends itself (kill, tgkill, tkill; abort() and raise() use these) takes its default action: ignored
 * if ignored or blocked, otherwise the process ends with 128 + signal. If the program installed a handler,
 * the process still ends, with a message saying the handler was not run. Guest signals never reach the host.
 */
final class SignalSyscalls {
    static final int RT_SIGACTION = 13, RT_SIGPROCMASK = 14, KILL = 62, SIGALTSTACK = 131, TKILL = 200,
            TGKILL = 234;
    private static final long SIG_DFL = 0, SIG_IGN = 1;
    private static final int SIGKILL = 9, SIGSTOP = 19, SIGCHLD = 17, SIGCONT = 18, SIGTSTP = 20, SIGTTIN = 21,
            SIGTTOU = 22, SIGURG = 23, SIGWINCH = 28;
    private static final int SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2;
    private static final long UNBLOCKABLE = (1L << (SIGKILL - 1)) | (1L << (SIGSTOP - 1));

    private SignalSyscalls() {}

    static void register(SyscallTable t) {
        t.add(RT_SIGACTION, SignalSyscalls::sigaction);
        t.add(RT_SIGPROCMASK, SignalSyscalls::sigprocmask);
        t.add(SIGALTSTACK, SignalSyscalls::sigaltstack);
        t.add(KILL, (p, pid, sig, a2, a3, a4, a5) -> pid == p.pid || pid == 0 || pid == -1 ? raise(p, sig) : -ESRCH);
        t.add(TKILL, (p, tid, sig, a2, a3, a4, a5) -> tid == p.pid ? raise(p, sig) : -ESRCH);
        t.add(TGKILL, (p, tgid, tid, sig, a3, a4, a5) -> tgid == p.pid && tid == p.pid ? raise(p, sig) : -ESRCH);
    }

    private static long sigaction(GuestProcess p, long sig, long act, long oldAct, long setSize, long a4, long a5) {
        if (setSize != 8 || sig < 1 || sig > 64 || (act != 0 && (sig == SIGKILL || sig == SIGSTOP))) {
            return -EINVAL;
        }
        if (p.inOrNull(act, 32) < 0 || p.outOrNull(oldAct, 32) < 0) {
            return -EFAULT;
        }
        int slot = (int) sig * 4;
        long[] saved = {p.sigactions[slot], p.sigactions[slot + 1], p.sigactions[slot + 2], p.sigactions[slot + 3]};
        if (act != 0) {
            for (int k = 0; k < 4; k++) {
                p.sigactions[slot + k] = p.space.readLong(act + 8L * k);
            }
        }
        if (oldAct != 0) {
            for (int k = 0; k < 4; k++) {
                p.space.writeLong(oldAct + 8L * k, saved[k]);
            }
        }
        return 0;
    }

    private static long sigprocmask(GuestProcess p, long how, long set, long oldSet, long setSize, long a4, long a5) {
        if (setSize != 8) {
            return -EINVAL;
        }
        if (p.inOrNull(set, 8) < 0 || p.outOrNull(oldSet, 8) < 0) {
            return -EFAULT;
        }
        long old = p.sigmask;
        if (set != 0) {
            long s = p.space.readLong(set);
            switch ((int) how) {
                case SIG_BLOCK -> p.sigmask |= s;
                case SIG_UNBLOCK -> p.sigmask &= ~s;
                case SIG_SETMASK -> p.sigmask = s;
                default -> {
                    return -EINVAL;
                }
            }
            p.sigmask &= ~UNBLOCKABLE;
        }
        if (oldSet != 0) {
            p.space.writeLong(oldSet, old);
        }
        return 0;
    }

    private static long sigaltstack(GuestProcess p, long stack, long oldStack, long a2, long a3, long a4, long a5) {
        if (p.inOrNull(stack, 24) < 0 || p.outOrNull(oldStack, 24) < 0) {
            return -EFAULT;
        }
        long sp = p.altStack[0], flags = p.altStack[1], size = p.altStack[2];
        if (stack != 0) {
            p.altStack[0] = p.space.readLong(stack);
            p.altStack[1] = p.space.readInt(stack + 8);
            p.altStack[2] = p.space.readLong(stack + 16);
        }
        if (oldStack != 0) {
            p.space.writeLong(oldStack, sp);
            p.space.writeLong(oldStack + 8, flags);
            p.space.writeLong(oldStack + 16, size);
        }
        return 0;
    }

    /** The process sends itself {@code sig}: see the class comment. */
    static long raise(GuestProcess p, long sig) {
        if (sig == 0) {
            return 0;
        }
        if (sig < 0 || sig > 64) {
            return -EINVAL;
        }
        int s = (int) sig;
        long handler = p.sigactions[s * 4];
        boolean blocked = (p.sigmask & (1L << (s - 1))) != 0;
        if (s != SIGKILL && (handler == SIG_IGN || blocked)) {
            return 0;
        }
        if (handler == SIG_DFL && ignoredByDefault(s)) {
            return 0;
        }
        if (handler != SIG_DFL && s != SIGKILL) {
            p.log.println("hako: " + p.name + ": signal " + s
                    + " has a handler, but signal delivery is not implemented; ending the process");
        }
        p.killedBy(s);
        return 0;
    }

    /** A write to a pipe without readers: SIGPIPE unless ignored or blocked, else EPIPE. */
    static long brokenPipe(GuestProcess p) {
        int s = GuestProcess.SIGPIPE;
        long handler = p.sigactions[s * 4];
        if (handler == SIG_DFL && (p.sigmask & (1L << (s - 1))) == 0) {
            p.killedBy(s);
        }
        return -Errno.EPIPE;
    }

    private static boolean ignoredByDefault(int sig) {
        return sig == SIGCHLD || sig == SIGCONT || sig == SIGURG || sig == SIGWINCH || sig == SIGSTOP
                || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
    }
}
