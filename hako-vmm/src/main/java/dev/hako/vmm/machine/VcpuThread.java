package dev.hako.vmm.machine;

import dev.hako.core.accel.VcpuExit;
import dev.hako.core.accel.VirtualCpu;
import dev.hako.core.irq.IrqChip;
import dev.hako.core.time.InstructionClock;
import dev.hako.core.x86.X86CpuState;
import dev.hako.sys.ThreadCpuClock;
import dev.hako.vmm.sched.ScheduledVcpu;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.concurrent.locks.LockSupport;

/**
 * The platform thread of one vCPU: runs it, sleeps through HLT until an interrupt is pending, and starts an
 * application processor on INIT and SIPI. Only this thread touches its vCPU; it also answers the watchdog's
 * requests for a {@link VcpuProgress} sample. With a {@link ScheduledVcpu} it waits out its throttles (the CPU
 * scheduler kicks it when its window's budget is spent) and tells the vCPU the time it lost as steal time.
 */
final class VcpuThread implements Runnable {
    private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    /**
     * A halted vCPU sleeps until {@link #wake} (an interrupt), {@link #stop} or the watchdog unparks it: polling
     * every 10 ms cost an idle guest 0.003 core. The limit is only a backstop.
     */
    private static final long HALT_PARK_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long RFLAGS_IF = 1L << 9;
    /**
     * Deterministic execution: the timers a halted vCPU runs (skipping guest time to each) before it rests once
     * in host time. A guest halted with interrupts off, or whose timers raise nothing it takes, would otherwise
     * spin a host core; the rest changes nothing the guest sees.
     */
    private static final int SKIPS_PER_PARK = 1000;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final MachineExit machineExit;
    private final int index;
    private final VirtualCpu vcpu;
    private final IrqChip chip;
    private final MachineIo io;
    private final PauseGate pauseGate;
    /** Null without a watchdog. */
    private final VcpuProgress progress;
    /** Null when the machine is not scheduled. */
    private final ScheduledVcpu scheduled;
    private final BooleanSupplier stopping;
    /** Deterministic execution: the guest time a halt skips forward; null when guest time is the host's. */
    private final InstructionClock instructionClock;
    private final Thread thread;
    /** Times the vCPU halted and was kicked out of the guest (this thread writes them, statistics read them). */
    private volatile long halts, kicks;
    /** Whether the vCPU runs guest code (the BSP from the start, an AP after its SIPI); a restore sets it. */
    private volatile boolean startedUp;
    /** {@link System#nanoTime} when the vCPU first entered guest code, 0 before. */
    private volatile long firstRunNanos;

    VcpuThread(MachineExit machineExit, int index, VirtualCpu vcpu, IrqChip chip, MachineIo io,
            VcpuProgress progress, ScheduledVcpu scheduled, PauseGate pauseGate, InstructionClock instructionClock) {
        this.machineExit = machineExit;
        this.index = index;
        this.vcpu = vcpu;
        this.chip = chip;
        this.io = io;
        this.progress = progress;
        this.scheduled = scheduled;
        this.stopping = machineExit::stopping;
        this.pauseGate = pauseGate;
        this.instructionClock = instructionClock;
        this.thread = Thread.ofPlatform().name("vcpu-" + index).daemon().unstarted(this);
        this.startedUp = index == 0;
    }

    boolean startedUp() {
        return startedUp;
    }

    /** Before the thread starts: whether the vCPU was running guest code when the machine was saved. */
    void restoreStartedUp(boolean started) {
        this.startedUp = started;
    }

    long firstRunNanos() {
        return firstRunNanos;
    }

    Thread thread() {
        return thread;
    }

    VirtualCpu vcpu() {
        return vcpu;
    }

    /** The vCPU's exits so far by kind. */
    MachineStatistics.Exits exits() {
        return new MachineStatistics.Exits(io.portAccesses(index), io.mmioAccesses(index), halts, kicks);
    }

    /** Wakes the thread (an interrupt, INIT/SIPI, or the machine stopping). */
    void wake() {
        vcpu.interruptArrived();
        LockSupport.unpark(thread);
    }

    void stop() {
        vcpu.kick();
        LockSupport.unpark(thread);
    }

    /** From the watchdog thread: answer with a progress sample soon (a running vCPU is kicked out to do so). */
    void askForProgress() {
        if (progress != null && !progress.requested()) {
            progress.request();
            vcpu.kick();
            LockSupport.unpark(thread); // a halted vCPU answers from its sleep
        }
    }

    @Override
    public void run() {
        if (scheduled != null) {
            scheduled.running(vcpu, ThreadCpuClock.currentThreadId());
        }
        try {
            runGuest();
        } finally {
            if (scheduled != null) {
                scheduled.ended(THREADS.getCurrentThreadCpuTime());
            }
        }
    }

    private void runGuest() {
        try {
            pauseGate.holdIfClosed(); // a machine started paused (a debugger's --gdb-wait) runs nothing yet
            if (!startedUp) {
                if (!awaitStartup()) {
                    return;
                }
                startedUp = true;
            }
            while (!machineExit.stopping()) {
                if (scheduled != null && scheduled.throttled()) {
                    vcpu.addStealTime(scheduled.awaitWindow(stopping));
                    continue;
                }
                if (firstRunNanos == 0) {
                    firstRunNanos = System.nanoTime();
                }
                VcpuExit exit = vcpu.run();
                switch (exit) {
                    case VcpuExit.Halted h -> {
                        halts++;
                        if (progress != null) {
                            progress.halted();
                        }
                        if (scheduled != null) {
                            scheduled.halting();
                        }
                        sleepUntilInterrupt();
                        if (scheduled != null) {
                            scheduled.woke();
                        }
                    }
                    case VcpuExit.Kicked k -> kicks++;
                    case VcpuExit.Shutdown s -> {
                        machineExit.guestFailed(index, "triple fault (" + s.reason() + ")", vcpu.state());
                        return;
                    }
                    case VcpuExit.Reset r -> {
                        machineExit.guestReset();
                        return;
                    }
                    case VcpuExit.Failed f -> {
                        machineExit.guestFailed(index, f.reason(), vcpu.state());
                        return;
                    }
                    case VcpuExit.DebugTrap d -> pauseGate.debugTrap(d, index);
                }
                if (progress != null && progress.requested() && !answerProgress()) {
                    return;
                }
                pauseGate.holdIfClosed();
            }
        } catch (RuntimeException | Error e) {
            machineExit.guestFailed(index, "vCPU thread died: " + e, null);
        }
    }

    private void sleepUntilInterrupt() {
        int skips = 0;
        while (!machineExit.stopping() && !vcpu.interruptPending()) {
            pauseGate.holdIfClosed();
            answerWhileIdle();
            if (instructionClock != null && skips++ < SKIPS_PER_PARK && instructionClock.skipToNextDeadline()) {
                continue;
            }
            skips = 0;
            LockSupport.parkNanos(this, HALT_PARK_NANOS);
        }
    }

    /** A progress sample of the running vCPU; false when the watchdog ended the VM. */
    private boolean answerProgress() {
        X86CpuState s = vcpu.state();
        if (progress.sample((s.rflags & RFLAGS_IF) != 0, s.halted, io.accesses(index),
                THREADS.getCurrentThreadCpuTime())) {
            machineExit.watchdogExpired(index, progress.reason(), s);
            return false;
        }
        return true;
    }

    private void answerWhileIdle() {
        if (progress != null && progress.requested()) {
            progress.idle();
        }
    }

    /** An AP waits for INIT, then for a SIPI whose vector gives its real-mode start address. */
    private boolean awaitStartup() {
        boolean initSeen = false;
        while (!machineExit.stopping()) {
            pauseGate.holdIfClosed();
            initSeen |= chip.takeInit(index);
            if (initSeen) {
                int vector = chip.takeSipi(index);
                if (vector >= 0) {
                    X86CpuState s = X86CpuState.atReset();
                    s.selector[X86CpuState.CS] = vector << 8;
                    s.segmentBase[X86CpuState.CS] = (long) vector << 12;
                    s.rip = 0;
                    s.gpr[2] = 0x600;
                    vcpu.load(s);
                    return true;
                }
            }
            answerWhileIdle();
            LockSupport.parkNanos(this, IDLE_PARK_NANOS);
        }
        return false;
    }
}
