package dev.hako.soft.exec;

import dev.hako.soft.decode.Decoder;
import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;
import dev.hako.soft.fault.CpuFault;

/**
 * Runs a soft vCPU: looks up (or decodes) the block at RIP, runs its instructions, and hands guest faults
 * to the {@link FaultHandler}. Nothing here allocates once the code is decoded.
 */
public final class Interpreter {
    private static final OpcodeTable TABLE = Instructions.table();

    private final Cpu cpu;
    private final BlockCache cache;
    private volatile boolean stopRequested;
    private boolean stopped;
    private FaultHandler faultHandler;

    /** Decides what a guest fault does: deliver it through the IDT, or end a user-mode process. */
    public interface FaultHandler {
        void fault(Cpu cpu, CpuFault fault, Interpreter interpreter);
    }

    public Interpreter(Cpu cpu, FaultHandler faultHandler) {
        this.cpu = cpu;
        this.faultHandler = faultHandler;
        this.cache = new BlockCache(new Decoder(TABLE, Instructions::undefined));
        cpu.mem.setCodeWatcher(hostPage -> {
            if (cache.invalidatePage(hostPage)) {
                cpu.exitBlock = true;
            }
        });
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
    }

    /** Ends {@link #run} once the current instruction completes; for the vCPU's own thread. */
    public void stop() {
        stopped = true;
        cpu.exitBlock = true;
    }

    public boolean stopped() {
        return stopped;
    }

    /** Forgets all decoded code (the guest's code mapping changed wholesale). */
    public void flushCode() {
        cache.clear();
    }

    /** Runs until {@link #stop} or {@link #requestStop}. */
    public void run() {
        Cpu c = cpu;
        BlockCache blocks = cache;
        while (!stopped && !stopRequested) {
            Block b;
            try {
                b = blocks.lookup(c, c.rip);
            } catch (CpuFault f) {
                faultHandler.fault(c, f, this);
                continue;
            }
            Insn[] insns = b.insns;
            int n = insns.length;
            int i = 0;
            blocks.running = b;
            c.rip = b.end;
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
                faultHandler.fault(c, f, this);
            }
        }
        cache.running = null;
    }

    /** Decodes and runs exactly one instruction at RIP (for tests and single-stepping). */
    public void step() {
        Insn insn = new Insn();
        insn.addr = cpu.rip;
        Decoder decoder = new Decoder(TABLE, Instructions::undefined);
        try {
            decoder.decode(cpu, cpu.rip, insn);
            cpu.rip = insn.next;
            insn.exec.exec(cpu, insn);
            cpu.exitBlock = false;
            cpu.instructions++;
        } catch (CpuFault f) {
            cpu.rip = insn.addr;
            faultHandler.fault(cpu, f, this);
        }
    }
}
