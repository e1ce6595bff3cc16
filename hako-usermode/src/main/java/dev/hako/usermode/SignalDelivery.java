package dev.hako.usermode;

import dev.hako.core.x86.DebugRegisters;
import dev.hako.soft.exec.Cpu;
import dev.hako.soft.fault.CpuFault;

/**
 * Sending and delivering signals, as Linux's kernel/signal.c does for one architecture: a signal whose
 * action is to ignore it is dropped when sent; others stay pending until a thread that does not block them
 * reaches a delivery point (the end of a syscall, or the next block after another thread's kick), which
 * runs the default action (terminate, terminate with core, ignore; stop signals terminate, as there is no job
 * control) or builds a {@link SignalFrame} for the handler. Interrupted waits return the kernel's restart
 * codes, turned here into a restart of the syscall or EINTR as SA_RESTART says. A fault of the soft CPU is
 * a synchronous signal: delivered at once, and fatal if blocked or ignored.
 */
final class SignalDelivery {
    static final long ERESTARTSYS = 512, ERESTARTNOHAND = 514;
    static final long SIG_DFL = 0, SIG_IGN = 1;
    static final long UNBLOCKABLE = SignalInfo.bit(SignalInfo.SIGKILL) | SignalInfo.bit(SignalInfo.SIGSTOP);
    private static final long IGNORED_BY_DEFAULT = SignalInfo.bit(SignalInfo.SIGCHLD)
            | SignalInfo.bit(SignalInfo.SIGCONT) | SignalInfo.bit(SignalInfo.SIGURG)
            | SignalInfo.bit(SignalInfo.SIGWINCH);
    private static final int SYSCALL_LENGTH = 2;

    private SignalDelivery() {}

    /** Whether {@code sig} would be ignored by {@code p} right now. */
    static boolean ignored(GuestProcess p, int sig) {
        long handler = p.sigactions[sig * 4];
        return sig != SignalInfo.SIGKILL && (handler == SIG_IGN
                || (handler == SIG_DFL && (IGNORED_BY_DEFAULT & SignalInfo.bit(sig)) != 0));
    }

    /** A process-directed signal (kill): pending on the process, taken by a thread that does not block it. */
    static void sendToProcess(GuestProcess p, SignalInfo info) {
        int sig = info.signo();
        if (p.exitingAll() || ignored(p, sig)) {
            return;
        }
        if (sig == SignalInfo.SIGKILL) {
            p.killedBy(SignalInfo.SIGKILL);
            return;
        }
        p.pending.add(sig, info);
        for (GuestThread t : p.threadList()) {
            if ((t.sigmask & SignalInfo.bit(sig)) == 0) {
                t.notifyWork();
                return;
            }
        }
    }

    /** A thread-directed signal (tgkill, a fault's SIGPIPE). */
    static void sendToThread(GuestThread t, SignalInfo info) {
        int sig = info.signo();
        if (t.process.exitingAll() || ignored(t.process, sig)) {
            return;
        }
        if (sig == SignalInfo.SIGKILL) {
            t.process.killedBy(SignalInfo.SIGKILL);
            return;
        }
        t.pending.add(sig, info);
        t.notifyWork();
    }

    /**
     * The delivery point after a syscall numbered {@code nr} (-1: none) returned {@code result}: restarts or
     * fails an interrupted syscall and delivers what is pending. RAX already holds {@code result}.
     */
    static void deliverPending(GuestThread t, Cpu cpu, long nr, long result) {
        boolean restartable = nr >= 0 && (result == -ERESTARTSYS || result == -ERESTARTNOHAND);
        while (!t.killed()) {
            GuestProcess p = t.process;
            long allowed = ~t.sigmask;
            SignalInfo info = t.pending.take(allowed);
            if (info == null) {
                info = p.pending.take(allowed);
            }
            if (info == null) {
                break;
            }
            int sig = info.signo();
            int slot = sig * 4;
            long handler = p.sigactions[slot];
            if (handler == SIG_IGN || (handler == SIG_DFL && (IGNORED_BY_DEFAULT & SignalInfo.bit(sig)) != 0)) {
                continue;
            }
            if (handler == SIG_DFL) {
                p.killedBy(sig); // terminate, core (no core file is written), or stop-as-terminate
                return;
            }
            long[] action = {handler, p.sigactions[slot + 1], p.sigactions[slot + 2], p.sigactions[slot + 3]};
            if (restartable) {
                if (result == -ERESTARTSYS && (action[1] & SignalFrame.SA_RESTART) != 0) {
                    restart(cpu, nr);
                } else {
                    cpu.r[Cpu.RAX] = -Errno.EINTR;
                }
                restartable = false;
            }
            handle(t, cpu, info, action, 0, 0, 0);
            return;
        }
        if (restartable) {
            restart(cpu, nr);
        }
        if (t.restoreSavedMask) {
            t.restoreSavedMask = false;
            t.sigmask = t.savedMask;
        }
    }

    private static void restart(Cpu cpu, long nr) {
        cpu.r[Cpu.RAX] = nr;
        cpu.rip -= SYSCALL_LENGTH;
    }

    /** Sets up the handler's frame and the mask it runs with; a frame that cannot be written is fatal. */
    private static void handle(GuestThread t, Cpu cpu, SignalInfo info, long[] action, int trapno, long err,
            long cr2) {
        GuestProcess p = t.process;
        int sig = info.signo();
        long oldMask = t.restoreSavedMask ? t.savedMask : t.sigmask;
        t.restoreSavedMask = false;
        if (!SignalFrame.setup(t, cpu, info, action, oldMask, trapno, err, cr2)) {
            p.killedBy(SignalInfo.SIGSEGV);
            return;
        }
        long mask = oldMask | action[3];
        if ((action[1] & SignalFrame.SA_NODEFER) == 0) {
            mask |= SignalInfo.bit(sig);
        }
        t.sigmask = mask & ~UNBLOCKABLE;
        if ((action[1] & SignalFrame.SA_RESETHAND) != 0) {
            p.sigactions[sig * 4] = SIG_DFL;
            p.sigactions[sig * 4 + 1] &= ~SignalFrame.SA_SIGINFO;
        }
    }

    /**
     * A fault of the soft CPU on thread {@code t}: the signal Linux's trap handlers send (traps.c, fault.c),
     * delivered now to a handler; fatal, with one line on stderr, if the signal is blocked or ignored.
     */
    static void fault(GuestThread t, Cpu cpu, CpuFault fault) {
        GuestProcess p = t.process;
        int vector = fault.vector();
        int sig = signalOf(vector);
        int code;
        long addr;
        switch (vector) {
            case CpuFault.DE -> {
                code = SignalInfo.FPE_INTDIV;
                addr = cpu.rip;
            }
            case CpuFault.MF, CpuFault.XM -> {
                code = 0;
                addr = cpu.rip;
            }
            case CpuFault.UD -> {
                code = SignalInfo.ILL_ILLOPN;
                addr = cpu.rip;
            }
            case CpuFault.BP, CpuFault.DB -> {
                // A single-step trap (DR6.BS) is TRAP_TRACE at the next instruction; Linux clears DR6 as it
                // handles the exception.
                boolean step = vector == CpuFault.DB && (cpu.sys.dr[6] & DebugRegisters.DR6_BS) != 0;
                cpu.sys.dr[6] &= ~DebugRegisters.DR6_BS;
                code = step ? SignalInfo.TRAP_TRACE : SignalInfo.SI_KERNEL;
                addr = step ? cpu.rip : 0;
            }
            case CpuFault.AC -> {
                code = SignalInfo.BUS_ADRALN;
                addr = cpu.rip;
            }
            case CpuFault.PF -> {
                code = (fault.errorCode() & 1) != 0 ? SignalInfo.SEGV_ACCERR : SignalInfo.SEGV_MAPERR;
                addr = fault.address();
            }
            default -> { // #SS and #NP: Linux's do_error_trap with no si_code; #GP: SI_KERNEL too
                code = SignalInfo.SI_KERNEL;
                addr = 0;
            }
        }
        int slot = sig * 4;
        long handler = p.sigactions[slot];
        boolean blocked = (t.sigmask & SignalInfo.bit(sig)) != 0;
        if (handler == SIG_DFL || handler == SIG_IGN || blocked) {
            died(p, cpu, fault, sig);
            return;
        }
        long[] action = {handler, p.sigactions[slot + 1], p.sigactions[slot + 2], p.sigactions[slot + 3]};
        SignalInfo info = new SignalInfo(sig, code, addr, 0, 0);
        long err = fault.hasErrorCode() ? fault.errorCode() : 0;
        handle(t, cpu, info, action, vector, err, vector == CpuFault.PF ? fault.address() : 0);
    }

    /** The signal Linux sends a process for a CPU exception. */
    static int signalOf(int vector) {
        return switch (vector) {
            case CpuFault.DE, CpuFault.MF, CpuFault.XM -> SignalInfo.SIGFPE;
            case CpuFault.UD -> SignalInfo.SIGILL;
            case CpuFault.BP, CpuFault.DB -> SignalInfo.SIGTRAP;
            case CpuFault.AC, CpuFault.SS, CpuFault.NP -> SignalInfo.SIGBUS;
            default -> SignalInfo.SIGSEGV;
        };
    }

    /** A fatal fault ends the process as the matching signal would, with one line on stderr. */
    private static void died(GuestProcess p, Cpu cpu, CpuFault fault, int signal) {
        int vector = fault.vector();
        long at = vector == CpuFault.PF ? fault.address() : cpu.rip;
        StringBuilder line = new StringBuilder(String.format("hako: %s: %s at %#x (rip %#x)", p.name,
                CpuFault.name(vector), at, cpu.rip));
        if (vector == CpuFault.UD) {
            line.append(" bytes");
            for (int k = 0; k < 8 && p.space.allows(cpu.rip + k, 1, AddressSpace.READ); k++) {
                line.append(String.format(" %02x", p.space.ram.get(java.lang.foreign.ValueLayout.JAVA_BYTE,
                        cpu.rip + k) & 0xFF));
            }
        }
        p.log.println(line);
        p.killedBy(signal);
    }
}
