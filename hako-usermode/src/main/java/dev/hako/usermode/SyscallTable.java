package dev.hako.usermode;

import dev.hako.soft.exec.Cpu;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * Syscall number to handler, for every process of a run; SYSCALL lands in {@link #syscall} on the calling
 * guest thread's Java thread. A number without a handler returns {@code -ENOSYS}, as Linux does for a
 * syscall it lacks, and is reported once on stderr. The end of each syscall is a signal delivery point.
 *
 * <p>Provided: files, paths, memory, time, poll/select (FileSyscalls, PathSyscalls, MemorySyscalls,
 * TimeSyscalls, PollSyscalls); threads and processes: clone (threads and processes), fork, vfork, execve
 * (static programs and {@code #!} scripts), exit, exit_group, wait4, waitid, futex (CloneSyscalls,
 * ExecSyscall, WaitSyscalls, ProcessSyscalls, FutexSyscall); pipes between processes with blocking that a
 * signal interrupts; signals: sigaction, sigprocmask, sigaltstack, kill, tkill, tgkill, rt_sigqueueinfo,
 * sigpending, sigsuspend, pause, rt_sigreturn, setitimer/getitimer/alarm (ITIMER_REAL), delivered with
 * Linux's frame (SignalSyscalls, SignalDelivery, SignalFrame).
 *
 * <p>Not provided: clone3 (ENOSYS, libc falls back to clone), sockets, process groups and sessions beyond
 * reporting the host's, job control (stop signals terminate), ptrace, shared memory between processes
 * (MAP_SHARED is private to a process and the threads and vfork children sharing its space), signalfd,
 * timerfd, ITIMER_VIRTUAL/PROF, POSIX timers, and the queueing of real-time signals (they merge).
 */
final class SyscallTable implements Cpu.SyscallHandler {
    static final int MAX = 512;
    private static final String[] NAMES = loadNames();
    /** {@code HAKO_STRACE=1}: each syscall, its first arguments and its result on hako's stderr. */
    private static final boolean TRACE = "1".equals(System.getenv("HAKO_STRACE"));

    private final Syscall[] handlers = new Syscall[MAX];
    private final boolean[] reported = new boolean[MAX];

    SyscallTable() {
        FileSyscalls.register(this);
        PathSyscalls.register(this);
        MemorySyscalls.register(this);
        ProcessSyscalls.register(this);
        SignalSyscalls.register(this);
        TimeSyscalls.register(this);
        PollSyscalls.register(this);
        CloneSyscalls.register(this);
        ExecSyscall.register(this);
        WaitSyscalls.register(this);
        FutexSyscall.register(this);
    }

    void add(int nr, Syscall handler) {
        if (handlers[nr] != null) {
            throw new IllegalStateException("syscall " + nr + " registered twice");
        }
        handlers[nr] = handler;
    }

    boolean has(int nr) {
        return handlers[nr] != null;
    }

    static String name(long nr) {
        return nr >= 0 && nr < MAX && NAMES[(int) nr] != null ? NAMES[(int) nr] : "?";
    }

    @Override
    public void syscall(Cpu cpu) {
        GuestThread thread = GuestThread.current();
        GuestProcess process = thread.process;
        long nr = cpu.r[Cpu.RAX];
        long[] r = cpu.r;
        Syscall handler = nr >= 0 && nr < MAX ? handlers[(int) nr] : null;
        long result;
        if (handler == null) {
            result = unsupported(process, nr);
        } else {
            result = handler.call(process, r[Cpu.RDI], r[Cpu.RSI], r[Cpu.RDX], r[10], r[8], r[9]);
            process.paths.releaseResolved();
        }
        if (TRACE) {
            process.log.printf("[%d] %s(%#x, %#x, %#x, %#x) = %d%n", thread.tid, name(nr), r[Cpu.RDI], r[Cpu.RSI],
                    r[Cpu.RDX], r[10], result);
        }
        r[Cpu.RAX] = result;
        if (thread.cpu() == cpu && !thread.killed()) {
            thread.service(nr == SignalSyscalls.RT_SIGRETURN ? -1 : nr, result);
        }
    }

    private long unsupported(GuestProcess process, long nr) {
        int slot = nr >= 0 && nr < MAX ? (int) nr : 0;
        if (!reported[slot]) {
            reported[slot] = true;
            process.log.println("hako: unsupported syscall " + nr + " (" + name(nr) + ")");
        }
        return -Errno.ENOSYS;
    }

    private static String[] loadNames() {
        String[] names = new String[MAX];
        try (InputStream in = SyscallTable.class.getResourceAsStream("syscall-names.txt")) {
            if (in == null) {
                return names;
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line; (line = reader.readLine()) != null; ) {
                if (line.startsWith("#") || line.isBlank()) {
                    continue;
                }
                String[] parts = line.trim().split("\\s+");
                int nr = Integer.parseInt(parts[0]);
                if (nr < MAX) {
                    names[nr] = parts[1];
                }
            }
        } catch (IOException e) {
            // names are only for messages
        }
        return names;
    }
}
