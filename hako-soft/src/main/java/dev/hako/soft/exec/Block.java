package dev.hako.soft.exec;

import dev.hako.soft.decode.Insn;

/** A run of decoded instructions that starts at one address and ends at a control transfer or a page end. */
final class Block {
    /** Offset in CS of the first instruction (its linear address in 64-bit mode). */
    final long start;
    /** Linear address of the first instruction and the decoding mode: with start and hostPage, the key. */
    final long linear;
    final int mode;
    final Insn[] insns;
    /** Address after the last instruction: where execution falls through. */
    final long end;
    /** Host pages whose bytes this block was decoded from (the second is -1 unless an instruction straddles). */
    final long hostPage;
    final long secondHostPage;
    /** The pages' code generations when decoded: a store from any vCPU since makes the block stale. */
    final int generation;
    final int secondGeneration;
    boolean valid = true;
    /** The next older block at the same linear address (another address space's code, or another mode). */
    Block sameLinear;
    /** How often the block ran interpreted; the translator takes it at {@link #translateAt}. */
    int runs;
    /** Interpreted runs after which it is translated; 0 until first asked. */
    int translateAt;
    /** {@link #runs} at the block cache's last sweep, and the number of that sweep. */
    int runsAtSweep;
    int sweep;
    /** The block's translation, once made. */
    BlockCode code;
    /** Interpreted runs that left through the closing conditional branch's target, and that fell through. */
    int taken;
    int fellThrough;

    /** Counts where an interpreted run of the block went on ({@code rip}), for {@link #mostlyTaken}. */
    void ranTo(long rip) {
        Insn last = insns[insns.length - 1];
        if (rip == last.imm) {
            taken++;
        } else if (rip == last.next) {
            fellThrough++;
        }
    }

    /**
     * Whether a trace through this block, which ends in a conditional branch, goes on at the branch's target: the
     * way the branch mostly went while the block ran interpreted, or, with too few runs to tell, taken if it
     * branches backward (a loop).
     */
    boolean mostlyTaken() {
        Insn last = insns[insns.length - 1];
        if (taken + fellThrough >= MIN_BRANCH_RUNS) {
            return taken > fellThrough;
        }
        return last.imm - last.addr < 0;
    }

    /** Interpreted runs of a branch after which its own history, not its direction, says which way a trace goes. */
    private static final int MIN_BRANCH_RUNS = 16;

    Block(long start, long linear, int mode, Insn[] insns, long hostPage, long secondHostPage, int generation,
            int secondGeneration) {
        this.generation = generation;
        this.secondGeneration = secondGeneration;
        this.start = start;
        this.linear = linear;
        this.mode = mode;
        this.insns = insns;
        this.end = insns[insns.length - 1].next;
        this.hostPage = hostPage;
        this.secondHostPage = secondHostPage;
    }
}
