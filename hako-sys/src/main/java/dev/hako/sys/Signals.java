package dev.hako.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Gateway to {@code <signal.h>} for one purpose: making a thread's blocking host call (such as KVM_RUN)
 * return with EINTR. A signal with an empty handler does exactly that, and nothing else: the handler is
 * a single {@code ret}, and its restorer the {@code rt_sigreturn} syscall, in a page of host code.
 */
public final class Signals {
    /** The signal QEMU also uses to kick vCPU threads; the JVM leaves it alone. */
    public static final int SIGUSR1 = 10;
    private static final long SYS_RT_SIGACTION = 13, SYS_GETPID = 39, SYS_GETTID = 186, SYS_TGKILL = 234;
    private static final long SA_RESTORER = 0x04000000L, SA_RESTART = 0x10000000L;
    /** {@code ret} at 0; at 8: {@code mov eax, 15 (rt_sigreturn); syscall}. */
    private static final byte[] HANDLER_AND_RESTORER = {
        (byte) 0xC3, (byte) 0x90, (byte) 0x90, (byte) 0x90, (byte) 0x90, (byte) 0x90, (byte) 0x90, (byte) 0x90,
        (byte) 0xB8, 0x0F, 0x00, 0x00, 0x00, 0x0F, 0x05,
    };
    private static NativeCode handlerCode;

    private Signals() {}

    /**
     * Installs a handler that does nothing for {@code signal} (once per process). Syscalls it interrupts
     * restart, except those that never restart, like KVM_RUN.
     */
    public static synchronized void installEmptyHandler(int signal) {
        if (handlerCode == null) {
            handlerCode = NativeCode.map(HANDLER_AND_RESTORER);
        }
        try (Arena arena = Arena.ofConfined()) {
            // struct kernel_sigaction { handler; flags; restorer; sigset_t mask (8 bytes) }
            MemorySegment action = arena.allocate(32, 8);
            action.set(ValueLayout.JAVA_LONG, 0, handlerCode.address());
            action.set(ValueLayout.JAVA_LONG, 8, SA_RESTORER | SA_RESTART);
            action.set(ValueLayout.JAVA_LONG, 16, handlerCode.address() + 8);
            action.set(ValueLayout.JAVA_LONG, 24, 0);
            long r = Libc.syscall(SYS_RT_SIGACTION, signal, action.address(), 0, 8, 0, 0);
            if (r < 0) {
                throw new IllegalStateException("rt_sigaction(" + signal + ") failed: " + Errno.describe(-r));
            }
        }
    }

    /** The calling thread's kernel thread id. */
    public static int currentThreadId() {
        return (int) Libc.syscall(SYS_GETTID, 0, 0, 0, 0, 0, 0);
    }

    /** Sends {@code signal} to thread {@code tid} of this process; returns 0 or {@code -errno}. */
    public static int sendToThread(int tid, int signal) {
        long pid = Libc.syscall(SYS_GETPID, 0, 0, 0, 0, 0, 0);
        return (int) Libc.syscall(SYS_TGKILL, pid, tid, signal, 0, 0, 0);
    }
}
