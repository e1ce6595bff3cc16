package dev.hako.vmm.machine;

import dev.hako.core.accel.VcpuExit;
import java.util.concurrent.TimeUnit;
import java.util.function.ObjIntConsumer;

/**
 * Where a paused machine's threads wait. {@link Machine#pause} closes the gate and kicks the vCPUs; each vCPU
 * thread (and the timer thread) reaches {@link #holdIfClosed} at its next exit from guest code, or at its next
 * idle wake-up, and waits there until the gate opens or the machine stops. The machine counts the threads
 * holding, so that it freezes guest time only once no thread can run guest code or fire a timer.
 */
final class PauseGate {
    private final Object lock = new Object();
    private final MachineExit exit;
    private volatile boolean closed;
    private int holding;
    /** Told which vCPU stopped at a debugger's breakpoint, watchpoint or step, and how; null without a debugger. */
    private volatile ObjIntConsumer<VcpuExit.DebugTrap> debugTraps;

    PauseGate(MachineExit exit) {
        this.exit = exit;
    }

    boolean closed() {
        return closed;
    }

    void close() {
        closed = true;
    }

    void onDebugTrap(ObjIntConsumer<VcpuExit.DebugTrap> listener) {
        this.debugTraps = listener;
    }

    /**
     * On a vCPU thread that stopped for the debugger: closes the gate, so this thread holds at it next, and tells
     * the debugger, which pauses the rest of the machine.
     */
    void debugTrap(VcpuExit.DebugTrap trap, int vcpu) {
        ObjIntConsumer<VcpuExit.DebugTrap> listener = debugTraps;
        if (listener != null) {
            closed = true;
            listener.accept(trap, vcpu);
        }
    }

    void open() {
        synchronized (lock) {
            closed = false;
            lock.notifyAll();
        }
    }

    /** On a machine thread: waits while the gate is closed (returns at once when it is open or the VM stops). */
    void holdIfClosed() {
        if (!closed) {
            return;
        }
        synchronized (lock) {
            holding++;
            lock.notifyAll();
            try {
                while (closed && !exit.stopping()) {
                    lock.wait(100);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                holding--;
            }
        }
    }

    /** Waits until {@code threads} threads hold at the gate; false if {@code timeout} passed first. */
    boolean awaitHolding(int threads, long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        synchronized (lock) {
            while (holding < threads && !exit.stopping()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(lock, left);
            }
            return true;
        }
    }
}
