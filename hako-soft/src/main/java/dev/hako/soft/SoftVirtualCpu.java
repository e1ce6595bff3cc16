package dev.hako.soft;

import dev.hako.core.accel.IoHandler;
import dev.hako.core.accel.LocalInterrupts;
import dev.hako.core.accel.VcpuExit;
import dev.hako.core.accel.VirtualCpu;
import dev.hako.core.accel.Watchpoint;
import dev.hako.core.memory.DirtyPages;
import dev.hako.core.memory.GuestMemory;
import dev.hako.core.time.InstructionClock;
import dev.hako.core.time.VirtualClock;
import dev.hako.core.x86.KvmParavirt;
import dev.hako.core.x86.X86CpuState;
import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.InterruptDelivery;
import dev.hako.soft.exec.Interpreter;
import dev.hako.soft.mmu.CodePages;
import dev.hako.soft.mmu.EmulationFailure;
import dev.hako.soft.mmu.Mmu;
import dev.hako.soft.mmu.PageTableWalker;
import dev.hako.soft.translate.BlockBuilder;

/**
 * A vCPU on the soft CPU: the interpreter over the machine's RAM, faults delivered through the guest's IDT.
 *
 * <p>It is a {@link DirtyPages.CachingWriter} of the machine's dirty log: its MMU marks a page when it fills a
 * write translation, and when a migration round advances the log's epoch the vCPU forgets its write translations
 * at its next entry to guest code, before it stores anything. {@link #inGuest} and {@link #caughtUpEpoch} are
 * volatile, and the harvester writes the epoch before it reads {@link #inGuest} while this thread writes
 * {@link #inGuest} before it reads the epoch: one of the two sees the other's write, so a vCPU found outside guest
 * code reads the new epoch when it enters.
 */
public final class SoftVirtualCpu implements VirtualCpu, DirtyPages.CachingWriter {
    private final int index;
    private final GuestMemory memory;
    private final Cpu cpu;
    private final Interpreter interpreter;
    private final DirtyPages dirty;
    private volatile boolean inGuest;
    private volatile long caughtUpEpoch;

    SoftVirtualCpu(GuestMemory memory, VirtualClock clock, CodePages codePages, int index, IoHandler io,
            LocalInterrupts interrupts) {
        this.index = index;
        this.memory = memory;
        Mmu mmu = new Mmu(memory.segment(), null, codePages);
        this.cpu = new Cpu(mmu);
        cpu.clock = clock;
        PageTableWalker walker = new PageTableWalker(memory.segment(), cpu.sys.cr, cpu.fault);
        this.dirty = memory.dirtyPages();
        walker.setDirtyLog(dirty);
        mmu.setWalker(walker);
        mmu.setDirtyLog(dirty);
        dirty.register(this);
        cpu.connect(index, io);
        cpu.interrupts = interrupts;
        BlockBuilder translator = BlockBuilder.fromSystemProperties();
        if (clock instanceof InstructionClock counted) {
            translator = translator.checkingDeadlines();
            keepTimeByInstructions(counted);
        }
        this.interpreter = new Interpreter(cpu, (c, fault, in) -> InterruptDelivery.exception(c, fault), translator);
    }

    /**
     * Deterministic execution: guest time is this vCPU's retired count, and this vCPU runs the machine's timers
     * when its count reaches the next deadline (a timer armed earlier lowers the deadline at once).
     */
    private void keepTimeByInstructions(InstructionClock counted) {
        if (index != 0) {
            throw new IllegalStateException("deterministic execution runs one vCPU");
        }
        cpu.instructionClock = counted;
        counted.countFrom(() -> cpu.instructions);
        counted.onEarlierDeadline(due -> {
            if (due < cpu.instructionDeadline) {
                cpu.instructionDeadline = due;
            }
        });
    }

    /** The soft CPU itself, for tests and the debugger. */
    public Cpu cpu() {
        return cpu;
    }

    /** Of {@link #translated}, the traces another vCPU had translated. */
    long reusedTranslations() {
        return interpreter.reusedTranslations();
    }

    /** Traces this vCPU's translator has built. */
    long translated() {
        return interpreter.translated();
    }

    @Override
    public int index() {
        return index;
    }

    @Override
    public VcpuExit run() {
        inGuest = true;
        try {
            long epoch = dirty.epoch();
            if (epoch != caughtUpEpoch) {
                cpu.mem.forgetWriteTranslations();
                caughtUpEpoch = epoch;
            }
            if (cpu.instructionClock != null) {
                cpu.instructionDeadline = cpu.instructionClock.deadlineInstructions(); // a halt skipped time
            }
            return switch (interpreter.run()) {
                case HALTED -> VcpuExit.HALTED;
                case SHUTDOWN -> new VcpuExit.Shutdown("triple fault");
                case KICKED, STOPPED -> VcpuExit.KICKED;
                case DEBUG -> new VcpuExit.DebugTrap(cpu.rip, interpreter.takeWatchHit());
            };
        } catch (EmulationFailure e) {
            return new VcpuExit.Failed("emulation failure at rip " + Long.toHexString(cpu.rip) + ": " + e.getMessage());
        } catch (RuntimeException e) {
            // A bug in hako, not the guest's doing: stop this VM with the evidence, keep the JVM alive.
            return new VcpuExit.Failed("internal error at rip " + Long.toHexString(cpu.rip) + ": " + e);
        } finally {
            inGuest = false;
        }
    }

    @Override
    public boolean caughtUp(long epoch) {
        return !inGuest || caughtUpEpoch >= epoch;
    }

    @Override
    public long instructionsRetired() {
        return cpu.instructions;
    }

    @Override
    public void kick() {
        interpreter.kick();
    }

    @Override
    public void interruptArrived() {
        interpreter.interruptArrived();
    }

    /**
     * Adds to the guest's struct kvm_steal_time as KVM does: the version odd while the steal count changes, even
     * after, with release stores so a guest reading version, steal, version sees a consistent pair; the preempted
     * byte cleared. Nothing happens until the guest enabled the MSR, or when its struct is not in RAM.
     */
    @Override
    public void addStealTime(long nanos) {
        long msr = cpu.sys.stealTimeMsr;
        long gpa = msr & KvmParavirt.STEAL_TIME_ADDRESS;
        if ((msr & KvmParavirt.KVM_MSR_ENABLED) == 0 || nanos <= 0
                || !memory.contains(gpa, KvmParavirt.STEAL_TIME_SIZE)) {
            return;
        }
        long version = memory.getU32Acquire(gpa + KvmParavirt.VERSION_OFFSET);
        long odd = (version | 1) + ((version & 1) << 1) & 0xFFFF_FFFFL; // junk left odd is skipped past
        memory.setU32Release(gpa + KvmParavirt.VERSION_OFFSET, odd);
        long steal = memory.getU64(gpa + KvmParavirt.STEAL_OFFSET);
        memory.setU64Release(gpa + KvmParavirt.STEAL_OFFSET, steal + nanos);
        memory.setU8(gpa + KvmParavirt.PREEMPTED_OFFSET, 0);
        memory.setU32Release(gpa + KvmParavirt.VERSION_OFFSET, (odd + 1) & 0xFFFF_FFFFL);
    }

    @Override
    public boolean debug(long[] breakpoints, Watchpoint[] watchpoints, boolean singleStep) {
        interpreter.debug(breakpoints, watchpoints, singleStep);
        return true;
    }

    @Override
    public X86CpuState state() {
        return CpuStateTransfer.save(cpu);
    }

    @Override
    public void load(X86CpuState state) {
        CpuStateTransfer.load(cpu, state);
        interpreter.flushCode();
    }

    @Override
    public boolean interruptPending() {
        return interpreter.wakeable();
    }
}
