package dev.hako.soft.exec;

import dev.hako.soft.decode.Decoder;
import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;
import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.translate.BlockBuilder;

/**
 * Runs a soft vCPU: looks up (or decodes) the block at RIP, runs its instructions, and hands guest faults
 * to the {@link FaultHandler}. Nothing here allocates once the code is decoded.
 */
public final class Interpreter {
    private static final OpcodeTable TABLE = Instructions.table();

    private final Cpu cpu;
    private final BlockCache cache;
    private final BlockBuilder translator;
    private volatile boolean stopRequested;
    private volatile boolean kickRequested;
    private boolean stopped;
    private FaultHandler faultHandler;
    /**
     * A debugger's breakpoints (RIP values) and single-step, set while the vCPU is stopped. Blocks and traces never
     * leave their page, so only code on a page holding a breakpoint runs one instruction at a time: it cannot be
     * skipped by a block or a translated trace, and code elsewhere keeps its speed.
     */
    private long[] breakpoints = new long[0];
    private boolean singleStep;
    /** Breakpoints or a step are set: the one flag the run loop reads per block when no debugger is there. */
    private boolean debugging;
    /** For {@link #step}: one instruction decoded outside the block cache, without allocating. */
    private final Insn single = new Insn();
    private final Decoder singleDecoder = new Decoder(TABLE, Instructions::undefined);
    private final StackSegmentFaults stackSegment = new StackSegmentFaults(new Decoder(TABLE, Instructions::undefined));

    /** Decides what a guest fault does: deliver it through the IDT, or end a user-mode process. */
    public interface FaultHandler {
        void fault(Cpu cpu, CpuFault fault, Interpreter interpreter);
    }

    public Interpreter(Cpu cpu, FaultHandler faultHandler) {
        this(cpu, faultHandler, BlockBuilder.fromSystemProperties());
    }

    /** An interpreter whose hot blocks {@code translator} compiles (or not, as its policy says). */
    public Interpreter(Cpu cpu, FaultHandler faultHandler, BlockBuilder translator) {
        this.translator = translator;
        this.cpu = cpu;
        this.faultHandler = faultHandler;
        this.cache = new BlockCache(new Decoder(TABLE, Instructions::undefined), cpu.mem.codePages());
        cpu.mem.setCodeWatcher(hostPage -> {
            if (cache.invalidatePage(hostPage)) {
                cpu.exitBlock = true;
            }
        });
    }

    /** Traces translated so far. */
    public long translated() {
        return translator.translated();
    }

    public static OpcodeTable table() {
        return TABLE;
    }

    public Cpu cpu() {
        return cpu;
    }

    /** Ends {@link #run} after the current block. Any thread may call it. */
    public void requestStop() {
        stopRequested = true;
        cpu.attention = true; // translated loops look at it
    }

    /** Ends {@link #run} once the current instruction completes; for the vCPU's own thread. */
    public void stop() {
        stopped = true;
        cpu.exitBlock = true;
        cpu.attention = true;
    }

    public boolean stopped() {
        return stopped;
    }

    /** Forgets all decoded code (the guest's code mapping changed wholesale). */
    public void flushCode() {
        cache.clear();
    }

    /** Why {@link #run} returned. */
    public enum Exit {
        /** {@link #stop} or {@link #requestStop}. */
        STOPPED,
        /** HLT: the caller sleeps until an interrupt is pending, then calls run again. */
        HALTED,
        /** Triple fault: the machine resets or ends. */
        SHUTDOWN,
        /** {@link #kick}: another thread wants the vCPU's attention. */
        KICKED,
        /** A debugger's breakpoint (RIP on it, not yet run) or single step (one instruction ran). */
        DEBUG
    }

    /** With the vCPU stopped: the debugger's breakpoints and single-step ({@link Exit#DEBUG}). */
    public void debug(long[] addresses, boolean step) {
        this.breakpoints = addresses.clone();
        this.singleStep = step;
        this.debugging = step || addresses.length != 0;
    }

    private boolean onBreakpointPage(long rip) {
        for (long b : breakpoints) {
            if ((b ^ rip) >>> 12 == 0) {
                return true;
            }
        }
        return false;
    }

    private boolean isBreakpoint(long rip) {
        for (long b : breakpoints) {
            if (b == rip) {
                return true;
            }
        }
        return false;
    }

    /** From any thread: look at pending interrupts before the next block. */
    public void interruptArrived() {
        cpu.attention = true;
    }

    BlockCache blockCache() {
        return cache;
    }

    /** From any thread: return {@link Exit#KICKED} from {@link #run} before the next block. */
    public void kick() {
        kickRequested = true;
        cpu.attention = true;
    }

    /**
     * Runs until stopped, halted, or shut down by a triple fault. Between blocks only {@code attention} is
     * looked at: whatever ends a run (a stop, a kick, HLT, a triple fault) also raises it.
     */
    public Exit run() {
        Cpu c = cpu;
        BlockCache blocks = cache;
        c.attention = true; // the state may have been loaded halted, or stopped, since the last run
        while (true) {
            if (debugging && singleStep && !c.sys.halted && !stopped && !stopRequested) {
                // A debugger's step runs the next instruction with interrupts held off, as QEMU's gdbstub does by
                // default: stepping into whatever interrupt is pending would lose the debugger in its handler.
                step();
                return Exit.DEBUG;
            }
            if (c.attention || c.instructions >= c.instructionDeadline) {
                if (c.instructions >= c.instructionDeadline) {
                    // Deterministic execution: the timers due at this retired count run here, at the same
                    // instruction in every run, and raise their interrupts before the look below.
                    c.instructionDeadline = c.instructionClock.runDue();
                }
                if (stopped || stopRequested) {
                    return Exit.STOPPED;
                }
                if (kickRequested) {
                    kickRequested = false;
                    return Exit.KICKED;
                }
                if (serviceAttention(c)) {
                    continue; // ran the instruction in an interrupt shadow: look again before the next
                }
                if (c.sys.shutdown) {
                    return Exit.SHUTDOWN;
                }
                if (c.sys.halted) {
                    blocks.idle(c.clock.nanos()); // guest time: a sweep is a function of the guest's run
                    return Exit.HALTED;
                }
            }
            if (debugging && singleStep) {
                step(); // woken from HLT by the interrupt just delivered: the step is its handler's first instruction
                return Exit.DEBUG;
            }
            if (debugging && onBreakpointPage(c.rip)) {
                if (isBreakpoint(c.rip)) {
                    return Exit.DEBUG;
                }
                step();
                continue;
            }
            Block b;
            try {
                b = blocks.lookup(c, c.rip);
            } catch (CpuFault f) {
                deliver(c, f);
                continue;
            }
            blocks.running = b;
            c.rip = b.end;
            BlockCode code = b.code;
            if (code == null) {
                int at = b.translateAt;
                if (at == 0) {
                    at = b.translateAt = translator.thresholdFor(b.generation);
                }
                if (++b.runs == at) {
                    code = translator.build(blocks.trace(c, b, BlockBuilder.MAX_TRACE), b.mode);
                    b.code = code;
                }
            }
            if (code != null) {
                try {
                    code.run(c);
                } catch (CpuFault f) {
                    c.exitBlock = false; // RIP and the retired count were set by the translated code
                    deliver(c, f);
                }
                continue;
            }
            Insn[] insns = b.insns;
            int n = insns.length;
            int i = 0;
            try {
                for (; i < n; i++) {
                    Insn insn = insns[i];
                    insn.exec.exec(c, insn);
                    if (c.exitBlock) {
                        c.exitBlock = false;
                        if (i < n - 1) {
                            c.rip = insn.next;
                        }
                        break;
                    }
                }
                c.instructions += i == n ? n : i + 1;
            } catch (CpuFault f) {
                c.rip = insns[i].addr;
                c.instructions += i;
                c.exitBlock = false;
                deliver(c, f);
            }
        }
    }

    /** Hands a fault (RIP on the faulting instruction) to the handler, with its segment worked out. */
    private void deliver(Cpu c, CpuFault f) {
        stackSegment.classify(c, f);
        faultHandler.fault(c, f, this);
    }

    /**
     * Takes a pending external interrupt if the CPU accepts one now: IF set and not in an interrupt shadow.
     * A halted CPU with nothing deliverable stays halted. Returns true when it ran the one instruction of an
     * interrupt shadow instead, so the caller looks again before running on.
     */
    private boolean serviceAttention(Cpu c) {
        c.attention = false;
        if ((c.flagsOther & Flags.TF) != 0 && !c.sys.halted) {
            // Single-stepping (POPF, IRET and sigreturn raise attention when they load RFLAGS): one instruction
            // at a time, looking again before the next, while TF stays set.
            step();
            c.attention = true;
            return true;
        }
        if ((c.flagsOther & Flags.IF) == 0) {
            return false; // STI, POPF and IRET raise attention again when IF comes back
        }
        boolean shadowed = c.rip == c.sys.interruptShadowRip;
        c.sys.interruptShadowRip = -1;
        if (c.interrupts.pendingVector() < 0) {
            // Nothing to hold back: the shadowed instruction runs in its block as any other. An interrupt that
            // comes meanwhile raises attention and is taken at the next block boundary, after it.
            return false;
        }
        if (shadowed) {
            // STI or MOV SS shields exactly one instruction from the waiting interrupt: run it alone, then look
            // again (as hardware does: "sti; nop; cli" lets a waiting interrupt in after the NOP).
            step();
            c.attention = true;
            return true;
        }
        int vector = c.interrupts.acknowledge();
        if (vector >= 0) {
            InterruptDelivery.external(c, vector);
            c.attention = true; // another may be pending behind it
        }
        return false;
    }

    /** The single-step #DB is a trap with DR6.BS set: {@link #step} raises it. */
    public static final long DR6_BS = 1L << 14;

    /** True when the vCPU, halted, would wake now: an interrupt it accepts is pending. */
    public boolean wakeable() {
        return (cpu.flagsOther & Flags.IF) != 0 && cpu.interrupts.pendingVector() >= 0;
    }

    /**
     * Decodes and runs exactly one instruction at RIP (for tests and single-stepping). With TF set before it
     * (so not after the POPF that sets it, but after the one that clears it), an instruction that completes
     * raises the single-step #DB as a trap: RIP on the next instruction, DR6.BS set (SDM vol. 3 §17.3.1.4).
     */
    public void step() {
        Insn insn = single;
        insn.addr = cpu.rip;
        boolean singleStep = (cpu.flagsOther & Flags.TF) != 0;
        try {
            singleDecoder.decode(cpu, cpu.rip, insn);
            cpu.rip = insn.next;
            if (translator.threshold() == 1 && cpu.mode == Cpu.MODE_64) {
                // Translation forced on: the instruction runs as a translated block of one, so the
                // single-instruction (differential) tests check the translator's forms too.
                translator.build(new Insn[] {insn}, cpu.mode).run(cpu);
            } else {
                insn.exec.exec(cpu, insn);
                cpu.exitBlock = false;
                cpu.instructions++;
            }
        } catch (CpuFault f) {
            cpu.rip = insn.addr;
            deliver(cpu, f);
            return;
        }
        if (singleStep && !stopped) {
            cpu.sys.dr[6] |= DR6_BS;
            deliver(cpu, cpu.fault(CpuFault.DB));
        }
    }
}
