package dev.hako.soft.exec;

import dev.hako.core.accel.Watchpoint;
import dev.hako.core.x86.DebugRegisters;
import dev.hako.soft.mmu.ControlRegisters;
import dev.hako.soft.mmu.DataWatch;

/**
 * What a vCPU stops at: a debugger's breakpoints and watchpoints (the debugger's own, never in the guest's DR6 or
 * DR7), and the guest's own breakpoints, DR0-DR3 as DR7 arms them (SDM vol. 3 §17.2.4-17.2.5). Instruction
 * breakpoints are addresses the interpreter compares RIP with on their pages; data breakpoints are the MMU's
 * {@link DataWatch}, slots 0-3 for DR0-DR3 and the debugger's from {@link #FIRST_DEBUGGER_SLOT}. I/O breakpoints
 * (R/W 10 under CR4.DE; without DE the encoding is undefined and arms nothing) are a second {@code DataWatch} over
 * ports, slots 0-3, that port I/O reports to ({@link Cpu#portWatch}). Only the vCPU's own thread uses it.
 */
final class DebugTargets {
    static final int FIRST_DEBUGGER_SLOT = DebugRegisters.BREAKPOINTS;

    private final Cpu cpu;
    final DataWatch data;
    final DataWatch ports;
    /** The debugger's breakpoints (RIP values) and watchpoints, and its single step. */
    private long[] breakpoints = new long[0];
    private Watchpoint[] watchpoints = new Watchpoint[0];
    boolean singleStep;
    /** The guest's enabled instruction breakpoints: a bit per DRn, and their linear addresses. */
    private int guestExecute;
    private final long[] guestAddress = new long[DebugRegisters.BREAKPOINTS];

    DebugTargets(Cpu cpu) {
        this.cpu = cpu;
        Runnable trapAfterInstruction = () -> {
            cpu.exitBlock = true; // reported after this instruction, before the next
            cpu.attention = true;
        };
        this.data = new DataWatch(trapAfterInstruction);
        this.ports = new DataWatch(trapAfterInstruction);
    }

    /** The debugger's breakpoints, watchpoints and step; takes effect at {@link #rearm}. */
    void debugger(long[] addresses, Watchpoint[] watches, boolean step) {
        if (watches.length > DataWatch.SLOTS - FIRST_DEBUGGER_SLOT) {
            throw new IllegalArgumentException("at most " + (DataWatch.SLOTS - FIRST_DEBUGGER_SLOT) + " watchpoints");
        }
        breakpoints = addresses.clone();
        watchpoints = watches.clone();
        singleStep = step;
    }

    /** Arms what DR0-DR3, DR7 and the debugger ask for; true when anything is armed. */
    boolean rearm() {
        long[] dr = cpu.sys.dr;
        long dr7 = dr[7];
        guestExecute = 0;
        boolean debugExtensions = (cpu.sys.cr.cr4 & ControlRegisters.CR4_DE) != 0;
        for (int n = 0; n < DebugRegisters.BREAKPOINTS; n++) {
            data.disarm(n);
            ports.disarm(n);
            if (!DebugRegisters.enabled(dr7, n)) {
                continue;
            }
            int length = DebugRegisters.length(dr7, n);
            long address = dr[n] & -length; // the SDM's alignment: the low bits are not compared
            switch (DebugRegisters.condition(dr7, n)) {
                case DebugRegisters.RW_EXECUTE -> {
                    guestExecute |= 1 << n;
                    guestAddress[n] = dr[n];
                }
                case DebugRegisters.RW_WRITE -> data.arm(n, address, length, DataWatch.WRITE);
                case DebugRegisters.RW_READ_WRITE -> data.arm(n, address, length, DataWatch.READ | DataWatch.WRITE);
                default -> {
                    if (debugExtensions) {
                        ports.arm(n, address, length, DataWatch.READ | DataWatch.WRITE);
                    }
                }
            }
        }
        for (int s = FIRST_DEBUGGER_SLOT; s < DataWatch.SLOTS; s++) {
            int k = s - FIRST_DEBUGGER_SLOT;
            if (k < watchpoints.length) {
                Watchpoint w = watchpoints[k];
                data.arm(s, w.address(), w.length(), switch (w.kind()) {
                    case WRITE -> DataWatch.WRITE;
                    case READ -> DataWatch.READ;
                    case ACCESS -> DataWatch.READ | DataWatch.WRITE;
                });
            } else {
                data.disarm(s);
            }
        }
        cpu.mem.setDataWatch(data.armed() ? data : null);
        cpu.portWatch = ports.armed() ? ports : null;
        return singleStep || breakpoints.length != 0 || guestExecute != 0 || watchingData();
    }

    /** Data or I/O breakpoints are armed: code runs as interpreted blocks, which end where one hits. */
    boolean watchingData() {
        return data.armed() || ports.armed();
    }

    /** A data or I/O breakpoint hit since the hits were last taken. */
    boolean hit() {
        return data.hit() || ports.hit();
    }

    /** The slots of data and I/O breakpoints that hit, as bits; cleared. */
    long takeHits() {
        return data.takeHits() | ports.takeHits();
    }

    boolean guestInstructionBreakpoints() {
        return guestExecute != 0;
    }

    /** The debugger's watchpoint of a slot that hit. */
    Watchpoint watchpoint(int slot) {
        return watchpoints[slot - FIRST_DEBUGGER_SLOT];
    }

    /** True when code at {@code rip} (at linear address {@code linear}) shares a page with a breakpoint. */
    boolean onBreakpointPage(long rip, long linear) {
        for (long b : breakpoints) {
            if ((b ^ rip) >>> 12 == 0) {
                return true;
            }
        }
        for (int g = guestExecute; g != 0; g &= g - 1) {
            if ((guestAddress[Integer.numberOfTrailingZeros(g)] ^ linear) >>> 12 == 0) {
                return true;
            }
        }
        return false;
    }

    boolean debuggerBreakpoint(long rip) {
        for (long b : breakpoints) {
            if (b == rip) {
                return true;
            }
        }
        return false;
    }

    /** DR6's B0-B3 bits of the guest's instruction breakpoints at {@code linear}; 0 when none. */
    long guestBreakpoints(long linear) {
        long bits = 0;
        for (int g = guestExecute; g != 0; g &= g - 1) {
            int n = Integer.numberOfTrailingZeros(g);
            if (guestAddress[n] == linear) {
                bits |= DebugRegisters.DR6_B0 << n;
            }
        }
        return bits;
    }
}
