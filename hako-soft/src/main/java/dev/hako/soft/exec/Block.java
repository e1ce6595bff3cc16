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
