package dev.hako.usermode;

/**
 * A siginfo_t as the kernel fills it (include/uapi/asm-generic/siginfo.h): si_signo at 0, si_errno at 4,
 * si_code at 8, and the union from 16, of which three 8-byte words are used: kill and sigqueue put si_pid and
 * si_uid in the first and si_value in the second; a fault puts si_addr in the first; SIGCHLD puts si_pid and
 * si_uid in the first, si_status in the second, and si_utime and si_stime (zero here) after.
 */
record SignalInfo(int signo, int code, long word16, long word24, long word32) {
    static final int SI_USER = 0, SI_KERNEL = 0x80, SI_QUEUE = -1, SI_TKILL = -6;
    static final int SEGV_MAPERR = 1, SEGV_ACCERR = 2, ILL_ILLOPN = 2, FPE_INTDIV = 1, FPE_FLTDIV = 3,
            BUS_ADRALN = 1, TRAP_BRKPT = 1, TRAP_TRACE = 2, CLD_EXITED = 1, CLD_KILLED = 2;
    static final int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7,
            SIGFPE = 8, SIGKILL = 9, SIGUSR1 = 10, SIGSEGV = 11, SIGUSR2 = 12, SIGPIPE = 13, SIGALRM = 14,
            SIGTERM = 15, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGTSTP = 20, SIGTTIN = 21, SIGTTOU = 22,
            SIGURG = 23, SIGXCPU = 24, SIGXFSZ = 25, SIGWINCH = 28, SIGSYS = 31;
    static final int SIZE = 128;
    /** Signals that faults raise: delivered before any other pending signal, as the kernel does. */
    static final long SYNCHRONOUS = bit(SIGSEGV) | bit(SIGBUS) | bit(SIGILL) | bit(SIGTRAP) | bit(SIGFPE)
            | bit(SIGSYS);

    static long bit(int sig) {
        return 1L << (sig - 1);
    }

    /** Sent by a process with kill (SI_USER) or tgkill (SI_TKILL). */
    static SignalInfo sent(int sig, int code, int pid, int uid) {
        return new SignalInfo(sig, code, (pid & 0xFFFF_FFFFL) | ((long) uid << 32), 0, 0);
    }

    void write(AddressSpace space, long at) {
        space.writeInt(at, signo);
        space.writeInt(at + 4, 0);
        space.writeInt(at + 8, code);
        space.writeInt(at + 12, 0);
        space.writeLong(at + 16, word16);
        space.writeLong(at + 24, word24);
        space.writeLong(at + 32, word32);
        for (long k = 40; k < SIZE; k += 8) {
            space.writeLong(at + k, 0);
        }
    }
}
