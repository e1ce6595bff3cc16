package dev.hako.usermode;

import static dev.hako.usermode.Errno.EFAULT;
import static dev.hako.usermode.Errno.EINVAL;
import static dev.hako.usermode.Errno.EPERM;
import static dev.hako.usermode.Errno.ESRCH;

import dev.hako.sys.Libc;

/**
 * Signal syscalls: dispositions (rt_sigaction), the calling thread's mask (rt_sigprocmask), alternate stack
 * (sigaltstack), sending (kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo), waiting (pause,
 * rt_sigsuspend), rt_sigpending, rt_sigreturn, and ITIMER_REAL (setitimer, getitimer, alarm). Delivery is
 * {@link SignalDelivery}'s. Guest signals never reach the host. kill(0) and kill(-pgrp) reach the
 * caller's process (there are no process groups); kill(-1) reaches every process but the caller's.
 */
final class SignalSyscalls {
    static final int RT_SIGACTION = 13, RT_SIGPROCMASK = 14, RT_SIGRETURN = 15, PAUSE = 34, GETITIMER = 36,
            ALARM = 37, SETITIMER = 38, KILL = 62, RT_SIGPENDING = 127, RT_SIGQUEUEINFO = 129,
            RT_SIGSUSPEND = 130, SIGALTSTACK = 131, TKILL = 200, TGKILL = 234, RT_TGSIGQUEUEINFO = 297;
    private static final int SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2;
    private static final int ITIMER_REAL = 0;
    private static final long MIN_ALT_STACK = 2048;

    private SignalSyscalls() {}

    static void register(SyscallTable t) {
        t.add(RT_SIGACTION, SignalSyscalls::sigaction);
        t.add(RT_SIGPROCMASK, SignalSyscalls::sigprocmask);
        t.add(SIGALTSTACK, SignalSyscalls::sigaltstack);
        t.add(RT_SIGRETURN, (p, a0, a1, a2, a3, a4, a5) -> {
            GuestThread self = GuestThread.current();
            return SignalFrame.sigreturn(self, self.cpu());
        });
        t.add(KILL, (p, pid, sig, a2, a3, a4, a5) -> kill(p, pid, sig));
        t.add(TKILL, (p, tid, sig, a2, a3, a4, a5) -> tgkill(p, -1, (int) tid, (int) sig, null));
        t.add(TGKILL, (p, tgid, tid, sig, a3, a4, a5) -> tgkill(p, (int) tgid, (int) tid, (int) sig, null));
        t.add(RT_SIGQUEUEINFO, (p, pid, sig, info, a3, a4, a5) -> queue(p, (int) pid, -1, (int) sig, info));
        t.add(RT_TGSIGQUEUEINFO, (p, tgid, tid, sig, info, a4, a5) ->
                queue(p, (int) tgid, (int) tid, (int) sig, info));
        t.add(RT_SIGPENDING, (p, set, size, a2, a3, a4, a5) -> {
            if (size != 8) {
                return -EINVAL;
            }
            if (p.out(set, 8) < 0) {
                return -EFAULT;
            }
            GuestThread self = GuestThread.current();
            p.space.writeLong(set, (self.pending.mask() | p.pending.mask()) & self.sigmask);
            return 0;
        });
        t.add(PAUSE, (p, a0, a1, a2, a3, a4, a5) -> suspend(GuestThread.current().sigmask));
        t.add(RT_SIGSUSPEND, (p, set, size, a2, a3, a4, a5) -> {
            if (size != 8) {
                return -EINVAL;
            }
            if (p.in(set, 8) < 0) {
                return -EFAULT;
            }
            return suspend(p.space.readLong(set));
        });
        t.add(SETITIMER, SignalSyscalls::setitimer);
        t.add(GETITIMER, (p, which, value, a2, a3, a4, a5) -> {
            if (which != ITIMER_REAL) {
                return -EINVAL;
            }
            if (p.out(value, 32) < 0) {
                return -EFAULT;
            }
            writeTimer(p, value, p.timer.get());
            return 0;
        });
        t.add(ALARM, (p, seconds, a1, a2, a3, a4, a5) -> {
            long[] old = p.timer.set((seconds & 0xFFFF_FFFFL) * 1_000_000_000L, 0);
            return old[0] == 0 ? 0 : (old[0] + 500_000_000L) / 1_000_000_000L;
        });
    }

    private static long sigaction(GuestProcess p, long sig, long act, long oldAct, long setSize, long a4, long a5) {
        if (setSize != 8 || sig < 1 || sig > 64
                || (act != 0 && (sig == SignalInfo.SIGKILL || sig == SignalInfo.SIGSTOP))) {
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
            p.sigactions[slot + 3] &= ~SignalDelivery.UNBLOCKABLE;
            if (SignalDelivery.ignored(p, (int) sig)) {
                p.pending.discard((int) sig); // POSIX: setting ignore discards what is pending
                for (GuestThread t : p.threadList()) {
                    t.pending.discard((int) sig);
                }
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
        GuestThread self = GuestThread.current();
        long old = self.sigmask;
        if (set != 0) {
            long s = p.space.readLong(set);
            long mask = switch ((int) how) {
                case SIG_BLOCK -> old | s;
                case SIG_UNBLOCK -> old & ~s;
                case SIG_SETMASK -> s;
                default -> -1;
            };
            if (how < SIG_BLOCK || how > SIG_SETMASK) {
                return -EINVAL;
            }
            self.sigmask = mask & ~SignalDelivery.UNBLOCKABLE;
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
        GuestThread self = GuestThread.current();
        long[] alt = self.altStack;
        boolean onIt = SignalFrame.onAltStack(self, self.cpu().r[dev.hako.soft.exec.Cpu.RSP]);
        long sp = alt[0], flags = onIt ? SignalFrame.SS_ONSTACK : alt[2] == 0 ? SignalFrame.SS_DISABLE : alt[1],
                size = alt[2];
        if (stack != 0) {
            long newSp = p.space.readLong(stack);
            int newFlags = p.space.readInt(stack + 8);
            long newSize = p.space.readLong(stack + 16);
            if (onIt) {
                return -EPERM;
            }
            if ((newFlags & ~(SignalFrame.SS_DISABLE | 0x80000000)) != 0) {
                return -EINVAL;
            }
            if ((newFlags & SignalFrame.SS_DISABLE) != 0) {
                alt[0] = 0;
                alt[1] = SignalFrame.SS_DISABLE;
                alt[2] = 0;
            } else {
                if (newSize < MIN_ALT_STACK) {
                    return -Errno.ENOMEM;
                }
                alt[0] = newSp;
                alt[1] = 0;
                alt[2] = newSize;
            }
        }
        if (oldStack != 0) {
            p.space.writeLong(oldStack, sp);
            p.space.writeLong(oldStack + 8, flags);
            p.space.writeLong(oldStack + 16, size);
        }
        return 0;
    }

    private static long kill(GuestProcess p, long pidArg, long sigArg) {
        int pid = (int) pidArg, sig = (int) sigArg; // ints in 64-bit registers
        if (sig < 0 || sig > 64) {
            return -EINVAL;
        }
        SignalInfo info = SignalInfo.sent((int) sig, SignalInfo.SI_USER, p.pid, uid());
        if (pid > 0) {
            GuestProcess target = p.table.process(pid);
            if (target == null || target.zombie) {
                return -ESRCH;
            }
            return send(target, info);
        }
        if (pid == -1) {
            for (GuestProcess target : p.table.all()) {
                if (target != p && !target.zombie) {
                    send(target, info);
                }
            }
            return 0;
        }
        return send(p, info);
    }

    private static long send(GuestProcess target, SignalInfo info) {
        if (info.signo() != 0) {
            SignalDelivery.sendToProcess(target, info);
        }
        return 0;
    }

    private static long tgkill(GuestProcess p, long tgid, long tid, long sig, SignalInfo given) {
        if (sig < 0 || sig > 64 || tid <= 0) {
            return -EINVAL;
        }
        GuestThread target = p.table.thread(tid);
        if (target == null || (tgid != -1 && target.process.pid != tgid)) {
            return -ESRCH;
        }
        if (sig != 0) {
            SignalDelivery.sendToThread(target, given != null ? given
                    : SignalInfo.sent((int) sig, SignalInfo.SI_TKILL, p.pid, uid()));
        }
        return 0;
    }

    /** rt_sigqueueinfo and rt_tgsigqueueinfo: the sender's siginfo, with si_code below 0 as Linux requires. */
    private static long queue(GuestProcess p, long pid, long tid, long sig, long infoAddr) {
        if (p.in(infoAddr, SignalInfo.SIZE) < 0) {
            return -EFAULT;
        }
        int code = p.space.readInt(infoAddr + 8);
        if (code >= 0 || code == SignalInfo.SI_TKILL) {
            return -EPERM;
        }
        if (sig < 1 || sig > 64) {
            return -EINVAL;
        }
        SignalInfo info = new SignalInfo((int) sig, code, p.space.readLong(infoAddr + 16),
                p.space.readLong(infoAddr + 24), p.space.readLong(infoAddr + 32));
        if (tid >= 0) {
            return tgkill(p, pid, tid, sig, info);
        }
        GuestProcess target = p.table.process(pid);
        if (target == null || target.zombie) {
            return -ESRCH;
        }
        return send(target, info);
    }

    /** pause and rt_sigsuspend: wait with {@code mask} until a signal is delivered; always EINTR. */
    private static long suspend(long mask) {
        GuestThread self = GuestThread.current();
        self.savedMask = self.sigmask;
        self.restoreSavedMask = true;
        self.sigmask = mask & ~SignalDelivery.UNBLOCKABLE;
        while (!self.interrupted()) {
            self.sleep(-1);
        }
        return -SignalDelivery.ERESTARTNOHAND;
    }

    private static long setitimer(GuestProcess p, long which, long value, long oldValue, long a3, long a4, long a5) {
        if (which != ITIMER_REAL) {
            return -EINVAL;
        }
        if (p.inOrNull(value, 32) < 0 || p.outOrNull(oldValue, 32) < 0) {
            return -EFAULT;
        }
        long interval = 0, first = 0;
        if (value != 0) {
            long is = p.space.readLong(value), ius = p.space.readLong(value + 8);
            long vs = p.space.readLong(value + 16), vus = p.space.readLong(value + 24);
            if (is < 0 || vs < 0 || ius < 0 || ius >= 1_000_000 || vus < 0 || vus >= 1_000_000) {
                return -EINVAL;
            }
            interval = is * 1_000_000_000L + ius * 1000;
            first = vs * 1_000_000_000L + vus * 1000;
        }
        long[] old = p.timer.set(first, interval);
        if (oldValue != 0) {
            writeTimer(p, oldValue, old);
        }
        return 0;
    }

    private static void writeTimer(GuestProcess p, long at, long[] remainingAndInterval) {
        p.space.writeLong(at, remainingAndInterval[1] / 1_000_000_000L);
        p.space.writeLong(at + 8, remainingAndInterval[1] % 1_000_000_000L / 1000);
        p.space.writeLong(at + 16, remainingAndInterval[0] / 1_000_000_000L);
        p.space.writeLong(at + 24, remainingAndInterval[0] % 1_000_000_000L / 1000);
    }

    /** A write to a pipe without readers: SIGPIPE to the writing thread (unless ignored), and EPIPE. */
    static long brokenPipe(GuestProcess p) {
        SignalDelivery.sendToThread(GuestThread.current(),
                SignalInfo.sent(SignalInfo.SIGPIPE, SignalInfo.SI_USER, p.pid, uid()));
        return -Errno.EPIPE;
    }

    private static int uid() {
        return (int) Libc.syscall(102, 0, 0, 0, 0, 0, 0);
    }
}
