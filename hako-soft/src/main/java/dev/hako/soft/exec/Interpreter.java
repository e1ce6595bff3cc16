package dev.hako.soft.exec;

import dev.hako.core.accel.Watchpoint;
import dev.hako.core.x86.DebugRegisters;
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
     * A debugger's breakpoints, watchpoints and single step, and the guest's DR0-DR3. Blocks and traces never
     * leave their page, so only code on a page holding an instruction breakpoint runs one instruction at a time:
     * it cannot be skipped by a block or a translated trace, and code elsewhere keeps its speed. While data is
     * watched, code runs as interpreted blocks, which end at the instruction whose access hit.
     */
    private final DebugTargets targets;
    /** Anything in {@link #targets} is armed: the one flag the run loop reads per block when nothing is. */
    private boolean debugging;
    /** The debugger changed {@link #targets} while the vCPU was stopped: armed on its thread as it runs. */
    private volatile boolean rearm;
    /** The debugger's watchpoint that ended the last run with {@link Exit#DEBUG}; null if none did. */
    private Watchpoint watchHit;
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
        this.targets = new DebugTargets(cpu);
        cpu.debugRegistersWritten = () -> {
            debugging = targets.rearm();
            cpu.exitBlock = true; // the next instruction may be a breakpoint, or its access a watched one
        };
        cpu.mem.setCodeWatcher(hostPage -> {
            if (cache.invalidatePage(hostPage, cpu.clock.nanos())) {
                cpu.exitBlock = true;
            }
        });
    }

    /** Traces translated so far. */
    public long translated() {
        return translator.translated();
    }

    /** Of those, the traces another vCPU had translated (see the translator's shared translations). */
    public long reusedTranslations() {
        return translator.reused();
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

    /** With the vCPU stopped: the debugger's breakpoints, watchpoints and single-step ({@link Exit#DEBUG}). */
    public void debug(long[] addresses, Watchpoint[] watchpoints, boolean step) {
        targets.debugger(addresses, watchpoints, step);
        rearm = true;
        cpu.attention = true;
    }

    /** The debugger's watchpoint that ended the last run, if one did; forgotten as it is read. */
    public Watchpoint takeWatchHit() {
        Watchpoint w = watchHit;
        watchHit = null;
        return w;
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
        if (rearm) {
            rearm = false;
            debugging = targets.rearm();
        }
        while (true) {
            if (debugging) {
                if (targets.hit() && trapAfterInstruction(c, false)) {
                    return Exit.DEBUG;
                }
                if (targets.singleStep && !c.sys.halted && !stopped && !stopRequested) {
                    // A debugger's step runs the next instruction with interrupts held off, as QEMU's gdbstub does
                    // by default: stepping into whatever interrupt is pending would lose the debugger in its handler.
                    step();
                    return Exit.DEBUG;
                }
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
                if (!debugging || !targets.guestInstructionBreakpoints()) {
                    // RF (loaded by IRET from a fault's frame, or set by a paused REP) holds for one instruction,
                    // and only the guest's instruction breakpoints look at it: with none armed it ends here, at
                    // once, rather than stay in the frames of later interrupts. What loads RF raises attention.
                    c.flagsOther &= ~Flags.RF;
                }
            }
            if (debugging) {
                if (targets.singleStep) {
                    step(); // woken from HLT by the interrupt just delivered: the step is its handler's first instruction
                    return Exit.DEBUG;
                }
                int next = debugBoundary(c);
                if (next == DEBUG_STOP) {
                    return Exit.DEBUG;
                }
                if (next == DEBUG_RAN) {
                    continue;
                }
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
                    at = b.translateAt = translator.thresholdFor(blocks.translationBackoff(b, c.clock.nanos()));
                }
                if (++b.runs == at) {
                    BlockCache.Trace trace = blocks.trace(c, b, BlockBuilder.MAX_TRACE);
                    code = translator.build(trace.insns(), b.mode, trace.bytes());
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
            interpret(c, b);
            b.ranTo(c.rip);
        }
    }

    /** Runs a block's decoded instructions (RIP already at its end), stopping early where one ends it. */
    private void interpret(Cpu c, Block b) {
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

    /** What {@link #debugBoundary} did: stopped for the debugger, ran code, or left the next block to the caller. */
    private static final int DEBUG_STOP = 0, DEBUG_RAN = 1, DEBUG_BLOCK = 2;

    /**
     * At an instruction boundary with something armed: stops at the debugger's breakpoint, raises the guest's
     * instruction breakpoint (a fault, RIP on the instruction, unless RF is set), steps code on a breakpoint's page,
     * and runs a block interpreted while data is watched, so that a data breakpoint's trap comes right after its
     * instruction.
     */
    private int debugBoundary(Cpu c) {
        long linear = c.linearRip();
        if (targets.onBreakpointPage(c.rip, linear)) {
            if (targets.debuggerBreakpoint(c.rip)) {
                return DEBUG_STOP;
            }
            long hit = (c.flagsOther & Flags.RF) == 0 ? targets.guestBreakpoints(linear) : 0;
            if (hit != 0) {
                c.sys.dr[6] = (c.sys.dr[6] & ~DebugRegisters.DR6_BREAKPOINTS) | hit;
                deliver(c, c.fault(CpuFault.DB));
                return DEBUG_RAN;
            }
            step();
            return watchHit != null ? DEBUG_STOP : DEBUG_RAN;
        }
        if ((c.flagsOther & Flags.RF) != 0 && targets.guestInstructionBreakpoints()) {
            step(); // RF holds for one instruction: clear it where no breakpoint could have seen it
            return watchHit != null ? DEBUG_STOP : DEBUG_RAN;
        }
        if (!targets.watchingData()) {
            return DEBUG_BLOCK;
        }
        Block b;
        try {
            b = cache.lookup(c, c.rip);
        } catch (CpuFault f) {
            deliver(c, f);
            return DEBUG_RAN;
        }
        cache.running = b;
        c.rip = b.end;
        interpret(c, b);
        return DEBUG_RAN;
    }

    /**
     * After an instruction that hit data breakpoints or ran under TF: the guest's #DB trap with DR6's B0-B3 bits
     * of its own breakpoints that hit and BS for {@code singleStep} (SDM vol. 3 §17.3.1.2), and the debugger's
     * watchpoint, kept for the stop. True when the debugger's watchpoint hit.
     */
    private boolean trapAfterInstruction(Cpu c, boolean singleStep) {
        long hits = targets.takeHits();
        long guest = hits & DebugRegisters.DR6_BREAKPOINTS;
        long debugger = hits & -(1L << DebugTargets.FIRST_DEBUGGER_SLOT);
        if (debugger != 0) {
            watchHit = targets.watchpoint(Long.numberOfTrailingZeros(debugger));
        }
        if (guest != 0 || singleStep) {
            long dr6 = c.sys.dr[6];
            if (guest != 0) {
                dr6 = (dr6 & ~DebugRegisters.DR6_BREAKPOINTS) | guest;
            }
            c.sys.dr[6] = singleStep ? dr6 | DebugRegisters.DR6_BS : dr6;
            faultHandler.fault(c, c.fault(CpuFault.DB), this);
        }
        return debugger != 0;
    }

    /**
     * Hands a fault (RIP on the faulting instruction) to the handler, with its segment worked out. Data breakpoints
     * the instruction hit before it faulted are not reported: it did not complete.
     */
    private void deliver(Cpu c, CpuFault f) {
        if (debugging) {
            targets.takeHits();
        }
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
        long resume = cpu.flagsOther & Flags.RF;
        cpu.flagsOther &= ~Flags.RF; // cleared as the instruction completes; it may load RF again (IRET)
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
            cpu.flagsOther |= resume; // not completed: RF still holds for it
            deliver(cpu, f);
            return;
        }
        boolean stepTrap = singleStep && !stopped;
        if (stepTrap || debugging && targets.hit()) {
            trapAfterInstruction(cpu, stepTrap);
        }
    }
}
