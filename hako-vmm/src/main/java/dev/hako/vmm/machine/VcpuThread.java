package dev.hako.vmm.machine;

import dev.hako.core.accel.VcpuExit;
import dev.hako.core.accel.VirtualCpu;
import dev.hako.core.irq.IrqChip;
import dev.hako.core.x86.X86CpuState;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The platform thread of one vCPU: runs it, sleeps through HLT until an interrupt is pending, and starts an
 * application processor on INIT and SIPI. Only this thread touches its vCPU.
 */
final class VcpuThread implements Runnable {
    private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    private final Machine machine;
    private final int index;
    private final VirtualCpu vcpu;
    private final IrqChip chip;
    private final Thread thread;

    VcpuThread(Machine machine, int index, VirtualCpu vcpu, IrqChip chip) {
        this.machine = machine;
        this.index = index;
        this.vcpu = vcpu;
        this.chip = chip;
        this.thread = Thread.ofPlatform().name("vcpu-" + index).daemon().unstarted(this);
    }

    Thread thread() {
        return thread;
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

    @Override
    public void run() {
        try {
            if (index != 0 && !awaitStartup()) {
                return;
            }
            while (!machine.stopping()) {
                VcpuExit exit = vcpu.run();
                switch (exit) {
                    case VcpuExit.Halted h -> sleepUntilInterrupt();
                    case VcpuExit.Kicked k -> { }
                    case VcpuExit.Shutdown s -> {
                        machine.guestFailed(index, "triple fault (" + s.reason() + ")", vcpu.state());
                        return;
                    }
                    case VcpuExit.Reset r -> {
                        machine.guestReset();
                        return;
                    }
                    case VcpuExit.Failed f -> {
                        machine.guestFailed(index, f.reason(), vcpu.state());
                        return;
                    }
                    case VcpuExit.DebugTrap d -> { }
                }
            }
        } catch (RuntimeException | Error e) {
            machine.guestFailed(index, "vCPU thread died: " + e, null);
        }
    }

    private void sleepUntilInterrupt() {
        while (!machine.stopping() && !vcpu.interruptPending()) {
            LockSupport.parkNanos(this, IDLE_PARK_NANOS);
        }
    }

    /** An AP waits for INIT, then for a SIPI whose vector gives its real-mode start address. */
    private boolean awaitStartup() {
        boolean initSeen = false;
        while (!machine.stopping()) {
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
            LockSupport.parkNanos(this, IDLE_PARK_NANOS);
        }
        return false;
    }
}
