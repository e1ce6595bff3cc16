package dev.hako.kvm;

import static dev.hako.kvm.abi.KvmConstants.*;
import static dev.hako.kvm.abi.KvmLayouts.*;

import dev.hako.core.accel.IoHandler;
import dev.hako.core.accel.LocalInterrupts;
import dev.hako.core.accel.VcpuExit;
import dev.hako.core.accel.VirtualCpu;
import dev.hako.core.x86.X86CpuState;
import dev.hako.kvm.abi.KvmIoctls;
import dev.hako.sys.Errno;
import dev.hako.sys.Fcntl;
import dev.hako.sys.Ioctl;
import dev.hako.sys.Mman;
import dev.hako.sys.Signals;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * A KVM vCPU: KVM_RUN in a loop, each exit handled here. Port I/O (string I/O included: KVM hands over
 * {@code count} items) and MMIO go to the {@link IoHandler}; interrupts come from the machine's userspace
 * local APIC through {@link LocalInterrupts} and are injected with KVM_INTERRUPT when the guest can take
 * them, after an interrupt-window exit otherwise. Registers are synchronised lazily ({@link KvmRegisters}).
 * A kick sets kvm_run.immediate_exit and signals the thread, so KVM_RUN returns whether or not it had
 * entered the guest yet.
 */
public final class KvmVirtualCpu implements VirtualCpu {
    private static final long EINTR = 4, EAGAIN = 11;
    private static final long RFLAGS_IF = 1 << 9;
    private static final VarHandle RUN_BYTE = ValueLayout.JAVA_BYTE.varHandle();

    private final int fd;
    private final int index;
    private final IoHandler io;
    private final LocalInterrupts interrupts;
    private final MemorySegment run;
    private final Arena arena = Arena.ofShared();
    private final KvmRegisters registers;
    private final MemorySegment interrupt;
    private final long[] msrValue = new long[1];

    private volatile boolean kickRequested;
    private volatile int runnerThreadId;
    /** HLT exited with nothing to take: the vCPU stays halted until an interrupt it accepts is pending. */
    private boolean halted;
    /** RFLAGS.IF as of the last exit or load. */
    private boolean interruptsEnabled;
    /** KVM said at the last exit that it can inject an interrupt right away. */
    private boolean readyForInjection;
    private long exits;

    KvmVirtualCpu(int fd, long runSize, int index, IoHandler io, LocalInterrupts interrupts) {
        this.fd = fd;
        this.index = index;
        this.io = io;
        this.interrupts = interrupts;
        this.run = Mman.mapShared(fd, runSize);
        this.registers = new KvmRegisters(fd, arena);
        this.interrupt = arena.allocate(INTERRUPT);
    }

    @Override
    public int index() {
        return index;
    }

    /** KVM exits taken so far (all of them, the ones handled inside {@link #run} included). */
    public long exits() {
        return exits;
    }

    @Override
    public VcpuExit run() {
        runnerThreadId = Signals.currentThreadId();
        try {
            return runLoop();
        } catch (KvmException e) {
            return new VcpuExit.Failed(e.getMessage());
        } finally {
            runnerThreadId = 0;
        }
    }

    private VcpuExit runLoop() {
        while (true) {
            // Clear immediate_exit before looking at the flag: a kick after the look sets it again.
            RUN_BYTE.setVolatile(run, RUN_IMMEDIATE_EXIT, (byte) 0);
            if (kickRequested) {
                kickRequested = false;
                return VcpuExit.KICKED;
            }
            if (halted) {
                if (!interruptPending()) {
                    return VcpuExit.HALTED;
                }
                halted = false;
            }
            prepareInterrupt();
            registers.flush();
            long r = Ioctl.call(fd, KvmIoctls.RUN, 0);
            registers.invalidate();
            exits++;
            interruptsEnabled = run.get(ValueLayout.JAVA_BYTE, RUN_IF_FLAG) != 0;
            readyForInjection = run.get(ValueLayout.JAVA_BYTE, RUN_READY_FOR_INTERRUPT_INJECTION) != 0;
            if (r < 0) {
                if (r == -EINTR || r == -EAGAIN) {
                    continue; // a kick or an interrupt: the loop's top sorts out which
                }
                return new VcpuExit.Failed("KVM_RUN failed: " + Errno.describe(-r));
            }
            VcpuExit exit = handleExit(run.get(ValueLayout.JAVA_INT, RUN_EXIT_REASON));
            if (exit != null) {
                return exit;
            }
        }
    }

    /** Handles one exit; null to run on. */
    private VcpuExit handleExit(int reason) {
        switch (reason) {
            case EXIT_IO -> handlePortIo();
            case EXIT_MMIO -> handleMmio();
            case EXIT_IRQ_WINDOW_OPEN, EXIT_INTR -> { }
            case EXIT_HLT -> {
                if (!interruptPending()) {
                    halted = true;
                    return VcpuExit.HALTED;
                }
            }
            case EXIT_X86_RDMSR -> handleRdmsr();
            case EXIT_X86_WRMSR -> handleWrmsr();
            case EXIT_SHUTDOWN -> {
                return new VcpuExit.Shutdown("triple fault (KVM_EXIT_SHUTDOWN)");
            }
            case EXIT_SYSTEM_EVENT -> {
                int type = run.get(ValueLayout.JAVA_INT, SYSTEM_EVENT_TYPE);
                return switch (type) {
                    case SYSTEM_EVENT_SHUTDOWN -> new VcpuExit.Shutdown("KVM system event: shutdown");
                    case SYSTEM_EVENT_RESET -> new VcpuExit.Reset();
                    default -> new VcpuExit.Failed("KVM system event " + type);
                };
            }
            case EXIT_FAIL_ENTRY -> {
                return new VcpuExit.Failed(String.format(
                        "KVM_EXIT_FAIL_ENTRY: hardware entry failure reason %#x on host CPU %d",
                        run.get(ValueLayout.JAVA_LONG, FAIL_ENTRY_REASON), run.get(ValueLayout.JAVA_INT, FAIL_ENTRY_CPU)));
            }
            case EXIT_INTERNAL_ERROR -> {
                return new VcpuExit.Failed(internalError());
            }
            case EXIT_DEBUG -> {
                return new VcpuExit.DebugTrap(registers.rip(), null);
            }
            case EXIT_EXCEPTION -> {
                return new VcpuExit.Failed(String.format("KVM_EXIT_EXCEPTION: vector %d, error code %#x",
                        run.get(ValueLayout.JAVA_INT, EX_EXCEPTION), run.get(ValueLayout.JAVA_INT, EX_ERROR_CODE)));
            }
            case EXIT_UNKNOWN -> {
                return new VcpuExit.Failed(String.format("KVM_EXIT_UNKNOWN: hardware exit reason %#x",
                        run.get(ValueLayout.JAVA_LONG, HW_EXIT_REASON)));
            }
            default -> {
                return new VcpuExit.Failed("unexpected KVM exit reason " + reason);
            }
        }
        return null;
    }

    /** Injects the local APIC's pending interrupt if KVM can take it now; asks for a window otherwise. */
    private void prepareInterrupt() {
        boolean pending = interrupts.pendingVector() >= 0;
        if (pending && readyForInjection) {
            int vector = interrupts.acknowledge();
            if (vector >= 0) {
                interrupt.set(ValueLayout.JAVA_INT, 0, vector);
                KvmException.check(Ioctl.call(fd, KvmIoctls.INTERRUPT, interrupt), KvmIoctls.INTERRUPT);
                readyForInjection = false;
            }
            pending = interrupts.pendingVector() >= 0;
        }
        run.set(ValueLayout.JAVA_BYTE, RUN_REQUEST_INTERRUPT_WINDOW, (byte) (pending ? 1 : 0));
    }

    private void handlePortIo() {
        int size = run.get(ValueLayout.JAVA_BYTE, IO_SIZE);
        int port = Short.toUnsignedInt(run.get(ValueLayout.JAVA_SHORT, IO_PORT));
        int count = run.get(ValueLayout.JAVA_INT, IO_COUNT);
        long data = run.get(ValueLayout.JAVA_LONG, IO_DATA_OFFSET);
        boolean out = run.get(ValueLayout.JAVA_BYTE, IO_DIRECTION) == EXIT_IO_OUT;
        for (int i = 0; i < count; i++, data += size) {
            if (out) {
                io.pioWrite(index, port, size, load(data, size));
            } else {
                store(data, size, io.pioRead(index, port, size));
            }
        }
    }

    private void handleMmio() {
        long gpa = run.get(ValueLayout.JAVA_LONG, MMIO_PHYS_ADDR);
        int size = run.get(ValueLayout.JAVA_INT, MMIO_LEN);
        if (run.get(ValueLayout.JAVA_BYTE, MMIO_IS_WRITE) != 0) {
            io.mmioWrite(index, gpa, size, load(MMIO_DATA, size));
        } else {
            store(MMIO_DATA, size, io.mmioRead(index, gpa, size));
        }
    }

    private void handleRdmsr() {
        int msr = run.get(ValueLayout.JAVA_INT, MSR_INDEX);
        boolean known = interrupts.readMsr(msr, msrValue);
        run.set(ValueLayout.JAVA_LONG, MSR_DATA, known ? msrValue[0] : 0);
        run.set(ValueLayout.JAVA_BYTE, MSR_ERROR, (byte) (known ? 0 : 1)); // 1: KVM injects #GP
    }

    private void handleWrmsr() {
        int msr = run.get(ValueLayout.JAVA_INT, MSR_INDEX);
        boolean known = interrupts.writeMsr(msr, run.get(ValueLayout.JAVA_LONG, MSR_DATA));
        run.set(ValueLayout.JAVA_BYTE, MSR_ERROR, (byte) (known ? 0 : 1));
    }

    private long load(long offset, int size) {
        return switch (size) {
            case 1 -> Byte.toUnsignedLong(run.get(ValueLayout.JAVA_BYTE, offset));
            case 2 -> Short.toUnsignedLong(run.get(ValueLayout.JAVA_SHORT_UNALIGNED, offset));
            case 4 -> Integer.toUnsignedLong(run.get(ValueLayout.JAVA_INT_UNALIGNED, offset));
            default -> run.get(ValueLayout.JAVA_LONG_UNALIGNED, offset);
        };
    }

    private void store(long offset, int size, long value) {
        switch (size) {
            case 1 -> run.set(ValueLayout.JAVA_BYTE, offset, (byte) value);
            case 2 -> run.set(ValueLayout.JAVA_SHORT_UNALIGNED, offset, (short) value);
            case 4 -> run.set(ValueLayout.JAVA_INT_UNALIGNED, offset, (int) value);
            default -> run.set(ValueLayout.JAVA_LONG_UNALIGNED, offset, value);
        }
    }

    private String internalError() {
        int suberror = run.get(ValueLayout.JAVA_INT, INTERNAL_SUBERROR);
        int ndata = Math.min(16, run.get(ValueLayout.JAVA_INT, INTERNAL_NDATA));
        StringBuilder sb = new StringBuilder("KVM_EXIT_INTERNAL_ERROR: suberror ").append(suberror);
        sb.append(switch (suberror) {
            case 1 -> " (emulation failure)";
            case 2 -> " (simultaneous exceptions)";
            case 3 -> " (delivery event)";
            default -> "";
        });
        for (int i = 0; i < ndata; i++) {
            sb.append(i == 0 ? ", data" : "").append(String.format(" %#x",
                    run.get(ValueLayout.JAVA_LONG, INTERNAL_DATA + 8L * i)));
        }
        return sb.toString();
    }

    @Override
    public void kick() {
        kickRequested = true;
        poke();
    }

    @Override
    public void interruptArrived() {
        poke(); // out of KVM_RUN; the loop then injects it
    }

    /** Makes KVM_RUN return (or not enter the guest at all) so the run loop looks around. */
    private void poke() {
        RUN_BYTE.setVolatile(run, RUN_IMMEDIATE_EXIT, (byte) 1);
        int tid = runnerThreadId;
        if (tid != 0) {
            Signals.sendToThread(tid, KvmAccelerator.KICK_SIGNAL);
        }
    }

    @Override
    public X86CpuState state() {
        X86CpuState s = registers.save();
        s.halted = halted;
        return s;
    }

    @Override
    public void load(X86CpuState state) {
        registers.load(state);
        halted = state.halted;
        interruptsEnabled = (state.rflags & RFLAGS_IF) != 0;
        readyForInjection = false; // KVM says again at the next exit
    }

    @Override
    public boolean interruptPending() {
        return interruptsEnabled && interrupts.pendingVector() >= 0;
    }

    void close() {
        Mman.release(run);
        Fcntl.close(fd);
        arena.close();
    }
}
