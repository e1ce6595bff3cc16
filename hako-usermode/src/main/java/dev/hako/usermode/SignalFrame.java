package dev.hako.usermode;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.FxsaveArea;
import dev.hako.soft.exec.ProcessMode;

/**
 * The x86-64 signal frame as Linux builds it (arch/x86/kernel/signal_64.c, include/uapi/asm/sigcontext.h,
 * ucontext.h): {@code struct rt_sigframe} = the return address (sa_restorer) at the frame, then
 * {@code struct ucontext} (uc_flags, uc_link, uc_stack, the 256-byte sigcontext, uc_sigmask) at +8, then the
 * 128-byte siginfo at +312; the FXSAVE image of the x87/SSE state sits above, 64-byte aligned. The frame
 * goes below a 128-byte red zone, or at the top of the alternate stack, with (frame + 8) 16-byte aligned
 * as after a call. rt_sigreturn reads the same layout back, so a handler may edit the saved context.
 */
final class SignalFrame {
    static final int SS_ONSTACK = 1, SS_DISABLE = 2;
    static final long SA_SIGINFO = 4, SA_ONSTACK = 0x0800_0000L, SA_RESTART = 0x1000_0000L,
            SA_NODEFER = 0x4000_0000L, SA_RESETHAND = 0x8000_0000L, SA_RESTORER = 0x0400_0000L;
    private static final int UC = 8, MCONTEXT = UC + 40, SIGMASK = UC + 296, INFO = 8 + 304, FRAME = INFO + 128;
    private static final int UC_SIGCONTEXT_SS = 2, UC_STRICT_RESTORE_SS = 4;
    private static final int RED_ZONE = 128;
    /** sigcontext order of the general registers: r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp. */
    private static final int[] REGS = {8, 9, 10, 11, 12, 13, 14, 15, Cpu.RDI, Cpu.RSI, Cpu.RBP, Cpu.RBX, Cpu.RDX,
        Cpu.RAX, Cpu.RCX, Cpu.RSP};
    /** RFLAGS bits sigreturn takes from the frame (FIX_EFLAGS): AC OF DF TF SF ZF AF PF CF RF. */
    private static final long FIX_EFLAGS = 0x40000 | 0x800 | 0x400 | 0x100 | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 | 0x10000;
    /** The FPU state a handler starts with (FNINIT, default MXCSR). */
    private static final byte[] INITIAL_FPU = initialFpu();

    private SignalFrame() {}

    /** Whether {@code sp} lies on {@code t}'s alternate stack. */
    static boolean onAltStack(GuestThread t, long sp) {
        return t.altStack[2] != 0 && sp - t.altStack[0] <= t.altStack[2] && sp > t.altStack[0];
    }

    /**
     * Builds the frame for {@code info} with {@code action} (handler, flags, restorer, mask) and points the
     * CPU at the handler; false if the frame cannot be written (the caller then kills with SIGSEGV).
     */
    static boolean setup(GuestThread t, Cpu cpu, SignalInfo info, long[] action, long savedMask, int trapno,
            long err, long cr2) {
        GuestProcess p = t.process;
        AddressSpace space = p.space;
        long handler = action[0], flags = action[1], restorer = action[2];
        if ((flags & SA_RESTORER) == 0) {
            return false; // x86-64 has no vDSO trampoline here: libc always passes sa_restorer
        }
        long rsp = cpu.r[Cpu.RSP];
        long sp;
        boolean onAlt = onAltStack(t, rsp);
        if ((flags & SA_ONSTACK) != 0 && t.altStack[1] != SS_DISABLE && t.altStack[2] != 0 && !onAlt) {
            sp = t.altStack[0] + t.altStack[2];
        } else {
            sp = rsp - RED_ZONE;
        }
        long fpstate = (sp - FxsaveArea.SIZE) & ~63L;
        long frame = ((fpstate - FRAME) & ~15L) - 8;
        if (space.host(frame, fpstate + FxsaveArea.SIZE - frame, AddressSpace.WRITE) < 0) {
            return false;
        }
        byte[] fx = new byte[FxsaveArea.SIZE];
        FxsaveArea.store(cpu, fx, true);
        space.writeBytes(fpstate, fx, 0, fx.length);

        space.writeLong(frame, restorer);
        space.writeLong(frame + UC, UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS);
        space.writeLong(frame + UC + 8, 0);
        space.writeLong(frame + UC + 16, t.altStack[0]);
        space.writeInt(frame + UC + 24, t.altStack[2] == 0 ? SS_DISABLE : onAlt ? SS_ONSTACK : 0);
        space.writeInt(frame + UC + 28, 0);
        space.writeLong(frame + UC + 32, t.altStack[2]);
        long m = frame + MCONTEXT;
        for (int k = 0; k < REGS.length; k++) {
            space.writeLong(m + 8L * k, cpu.r[REGS[k]]);
        }
        space.writeLong(m + 128, cpu.rip);
        space.writeLong(m + 136, cpu.rflags());
        // cs, gs, fs, ss
        space.writeLong(m + 144, ProcessMode.LINUX_USER_CS | ((long) ProcessMode.LINUX_USER_DS << 48));
        space.writeLong(m + 152, err);
        space.writeLong(m + 160, trapno);
        space.writeLong(m + 168, savedMask);
        space.writeLong(m + 176, cr2);
        space.writeLong(m + 184, fpstate);
        for (int k = 0; k < 8; k++) {
            space.writeLong(m + 192 + 8L * k, 0);
        }
        space.writeLong(frame + SIGMASK, savedMask);
        info.write(space, frame + INFO);

        cpu.r[Cpu.RDI] = info.signo();
        cpu.r[Cpu.RSI] = frame + INFO;
        cpu.r[Cpu.RDX] = frame + UC;
        cpu.r[Cpu.RAX] = 0;
        cpu.r[Cpu.RSP] = frame;
        cpu.rip = handler;
        cpu.setRflags(cpu.rflags() & ~(0x400L | 0x100L | 0x10000L), ~0L); // DF, TF, RF cleared
        if (FxsaveArea.mxcsrValid(INITIAL_FPU)) {
            FxsaveArea.load(cpu, INITIAL_FPU, true);
        }
        return true;
    }

    /**
     * rt_sigreturn: restores what {@link #setup} saved (as the handler may have changed it) from the frame
     * below RSP; returns the restored RAX, or kills the process with SIGSEGV for a frame it cannot read.
     */
    static long sigreturn(GuestThread t, Cpu cpu) {
        GuestProcess p = t.process;
        AddressSpace space = p.space;
        long frame = cpu.r[Cpu.RSP] - 8;
        if (space.host(frame, FRAME, AddressSpace.READ) < 0) {
            return badFrame(t, cpu);
        }
        long m = frame + MCONTEXT;
        long fpstate = space.readLong(m + 184);
        byte[] fx = null;
        if (fpstate != 0) {
            if ((fpstate & 63) != 0 || space.host(fpstate, FxsaveArea.SIZE, AddressSpace.READ) < 0) {
                return badFrame(t, cpu);
            }
            fx = new byte[FxsaveArea.SIZE];
            java.lang.foreign.MemorySegment.copy(space.ram, java.lang.foreign.ValueLayout.JAVA_BYTE, fpstate, fx, 0,
                    fx.length);
            if (!FxsaveArea.mxcsrValid(fx)) {
                return badFrame(t, cpu);
            }
        }
        for (int k = 0; k < REGS.length; k++) {
            cpu.r[REGS[k]] = space.readLong(m + 8L * k);
        }
        cpu.rip = space.readLong(m + 128);
        long flags = space.readLong(m + 136);
        cpu.setRflags((cpu.rflags() & ~FIX_EFLAGS) | (flags & FIX_EFLAGS), ~0L);
        cpu.attention = true; // TF may be back: the run loop single-steps
        if (fx != null) {
            FxsaveArea.load(cpu, fx, true);
        } else {
            FxsaveArea.load(cpu, INITIAL_FPU, true);
        }
        t.sigmask = space.readLong(frame + SIGMASK) & ~SignalDelivery.UNBLOCKABLE;
        long ssSp = space.readLong(frame + UC + 16);
        int ssFlags = space.readInt(frame + UC + 24);
        long ssSize = space.readLong(frame + UC + 32);
        if (!onAltStack(t, cpu.r[Cpu.RSP]) && (ssFlags & SS_DISABLE) == 0) {
            t.altStack[0] = ssSp;
            t.altStack[2] = ssSize;
            t.altStack[1] = 0;
        }
        return cpu.r[Cpu.RAX];
    }

    private static long badFrame(GuestThread t, Cpu cpu) {
        t.process.log.printf("hako: %s: rt_sigreturn with a bad frame at %#x%n", t.process.name, cpu.r[Cpu.RSP]);
        t.process.killedBy(SignalInfo.SIGSEGV);
        return cpu.r[Cpu.RAX];
    }

    private static byte[] initialFpu() {
        byte[] a = new byte[FxsaveArea.SIZE];
        a[FxsaveArea.FCW] = 0x7F;
        a[FxsaveArea.FCW + 1] = 0x03;
        int mxcsr = 0x1F80;
        for (int b = 0; b < 4; b++) {
            a[FxsaveArea.MXCSR + b] = (byte) (mxcsr >>> (8 * b));
        }
        return a;
    }
}
