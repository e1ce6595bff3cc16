package dev.hako.soft.exec;

import dev.hako.soft.decode.Decoder;
import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpSpec;
import dev.hako.soft.fault.CpuFault;
import java.util.ArrayList;
import java.util.List;

/**
 * Decoded code, kept per guest address and dropped per host page when the page is written. A block is used
 * only while its linear address still reaches the host page it was decoded from: address spaces (CR3
 * values) may map different code at the same linear address, as every non-PIE program has its text at
 * 0x401000, so the blocks found at one linear address form a short chain, one per page (and mode). Lookups
 * go through a direct-mapped array first, so a hot branch target costs one array load, an execute-TLB
 * probe and a few compares.
 *
 * <p>Most code runs a few times and never again (a boot runs some 50,000 blocks, a quarter of a million
 * decoded instructions, ~40 MiB), so the cache sweeps itself: a block that was not translated and has not run
 * since the sweep before is dropped, to be decoded again should it run. A busy CPU sweeps when the cache holds
 * twice as many blocks as after its last sweep (a sweep costs a look at every block, paid for by as many
 * decodes); an idle one (halted) sweeps at most once per {@link #IDLE_SWEEP_NANOS}, twice after it decoded
 * {@link #IDLE_SWEEP_DECODES} blocks, so what a boot ran once goes soon after the guest settles, while the
 * trickle of blocks an idle guest decodes again does not keep it sweeping.
 */
final class BlockCache {
    private static final int MAX_BLOCK = 64;
    private static final int FAST_BITS = 14;
    /** Most blocks kept at one linear address; the oldest beyond it is dropped. */
    private static final int MAX_CHAIN = 8;
    /** Blocks kept before the first sweep, and at least between sweeps. */
    static final int MIN_SWEEP = 8192;
    /**
     * An idle CPU's sweeps are this far apart: a sweep also drops what runs less often than sweeps come, and a
     * block decoded again counts its runs towards translation from zero, so frequent sweeps make an idle guest
     * decode and interpret its occasional work again and again.
     */
    static final long IDLE_SWEEP_NANOS = 30_000_000_000L;
    static final int IDLE_SWEEP_DECODES = MIN_SWEEP / 8;
    private final Block[] fast = new Block[1 << FAST_BITS];
    /** The newest block at each linear address; older ones follow through {@link Block#sameLinear}. */
    private final LongMap<Block> blocks = new LongMap<>();
    private final LongMap<List<Block>> byPage = new LongMap<>();
    private final Decoder decoder;
    /** The block being run, so a store into it can end it early. */
    Block running;
    /** Blocks in the lookup structures; a sweep is due at {@link #sweepAt}. */
    private int live;
    private int sweepAt = MIN_SWEEP;
    private int sweeps;
    /** Guest time of the last idle sweep; the first may come at once. */
    private long lastSweepNanos = -IDLE_SWEEP_NANOS;
    /** Blocks decoded since the last sweep, and the sweeps an idle CPU still makes for them. */
    private int decodedSinceSweep;
    private int idleSweepsOwed;

    private final dev.hako.soft.mmu.CodePages codePages;

    BlockCache(Decoder decoder, dev.hako.soft.mmu.CodePages codePages) {
        this.decoder = decoder;
        this.codePages = codePages;
    }

    private static int slot(long rip) {
        return (int) (rip ^ (rip >>> FAST_BITS)) & ((1 << FAST_BITS) - 1);
    }

    /**
     * The block at {@code rip} as the current address space and mode see it, decoded if needed. Raises the
     * instruction fetch's fault when the code page is not mapped executable.
     */
    Block lookup(Cpu cpu, long rip) {
        int mode = cpu.mode;
        long linear = mode == Cpu.MODE_64 ? rip : cpu.linearRip();
        long hostPage = cpu.mem.fetchPage(linear);
        int s = slot(linear);
        Block b = fast[s];
        if (b != null && b.linear == linear && b.hostPage == hostPage && b.start == rip && b.mode == mode
                && current(cpu, b)) {
            return b;
        }
        b = blocks.get(linear);
        while (b != null && (b.hostPage != hostPage || b.start != rip || b.mode != mode)) {
            b = b.sameLinear;
        }
        if (b == null || !current(cpu, b)) {
            if (b != null) {
                retire(b); // its page was written, or the next page it reaches into is another now
                discarded(b, cpu.clock.nanos());
            }
            b = decodeBlock(cpu, rip, linear);
            keep(b);
        }
        fast[s] = b;
        return b;
    }

    /**
     * False when another vCPU wrote the block's code since it was decoded, or when the page its last
     * instruction reaches into is no longer the one it was decoded from.
     */
    private boolean current(Cpu cpu, Block b) {
        if (codePages.generation(b.hostPage) != b.generation) {
            return false;
        }
        if (b.secondHostPage < 0) {
            return true;
        }
        if (codePages.generation(b.secondHostPage) != b.secondGeneration) {
            return false;
        }
        try {
            return cpu.mem.fetchPage((b.linear | 0xFFF) + 1) == b.secondHostPage;
        } catch (CpuFault f) {
            return false; // decoded again, the block ends before the instruction whose fetch faults
        }
    }

    private void keep(Block b) {
        if (live >= sweepAt) {
            sweep();
        }
        live++;
        if (++decodedSinceSweep >= IDLE_SWEEP_DECODES) {
            idleSweepsOwed = 2;
        }
        Block head = blocks.get(b.linear);
        b.sameLinear = head;
        blocks.put(b.linear, b);
        int length = 1;
        for (Block c = b; c.sameLinear != null; c = c.sameLinear) {
            if (++length > MAX_CHAIN) {
                retire(c.sameLinear);
                break;
            }
        }
        onPage(b.hostPage, b);
        if (b.secondHostPage >= 0) {
            onPage(b.secondHostPage, b);
        }
    }

    private void onPage(long hostPage, Block b) {
        List<Block> list = byPage.get(hostPage);
        if (list == null) {
            list = new ArrayList<>();
            byPage.put(hostPage, list);
        }
        list.add(b);
        if ((list.size() & 63) == 0) {
            list.removeIf(old -> !old.valid); // retired blocks of a page that is never written
        }
    }

    /** The CPU halted at guest time {@code nanos} (never the host's: what is decoded again must not depend on it). */
    void idle(long nanos) {
        if (idleSweepsOwed > 0 && nanos - lastSweepNanos >= IDLE_SWEEP_NANOS) {
            idleSweepsOwed--;
            lastSweepNanos = nanos;
            sweep();
        }
    }

    /** Drops the blocks that were neither translated nor run since the last sweep. */
    private void sweep() {
        int sweep = ++sweeps;
        decodedSinceSweep = 0;
        byPage.removeIf(list -> {
            for (Block b : list) {
                if (!b.valid || b.sweep == sweep) {
                    continue; // a block on two pages is looked at once
                }
                b.sweep = sweep;
                if (b.code == null && b != running && b.runs == b.runsAtSweep) {
                    retire(b);
                } else {
                    b.runsAtSweep = b.runs;
                }
            }
            list.removeIf(old -> !old.valid);
            return list.isEmpty();
        });
        sweepAt = Math.max(MIN_SWEEP, 2 * live);
    }

    /** Blocks in the lookup structures now. */
    int size() {
        return live;
    }

    /** Takes {@code b} out of the lookup structures; its pages' lists let go of it later. */
    private void retire(Block b) {
        if (b.valid) {
            live--;
        }
        b.valid = false;
        Block head = blocks.get(b.linear);
        if (head == b) {
            if (b.sameLinear == null) {
                blocks.remove(b.linear);
            } else {
                blocks.put(b.linear, b.sameLinear);
            }
        } else {
            for (Block c = head; c != null; c = c.sameLinear) {
                if (c.sameLinear == b) {
                    c.sameLinear = b.sameLinear;
                    break;
                }
            }
        }
        int s = slot(b.linear);
        if (fast[s] == b) {
            fast[s] = null;
        }
    }

    /** A stale block's translation, if it had one, is counted against its page (see {@link #translationBackoff}). */
    private void discarded(Block b, long nowNanos) {
        if (b.code != null) {
            codePages.translationDiscarded(b.hostPage, nowNanos);
        }
    }

    /**
     * How often translations of code on {@code b}'s page were thrown away lately because the page was written:
     * the translator waits longer for such code. Stores before any translation (a loader, the kernel patching its
     * text while it boots) do not count, nor do those of a page that has since settled, so code that stops
     * changing is translated as soon as any other.
     */
    int translationBackoff(Block b, long nowNanos) {
        return codePages.recentlyDiscardedTranslations(b.hostPage, nowNanos);
    }

    private Block decodeBlock(Cpu cpu, long rip, long linear) {
        long hostPage = cpu.mem.codePage(linear);
        int generation = codePages.generation(hostPage);
        long csBase = linear - rip;
        long second = -1;
        List<Insn> list = new ArrayList<>();
        long pc = rip;
        while (true) {
            Insn insn = new Insn();
            try {
                decoder.decode(cpu, pc, insn);
            } catch (CpuFault f) {
                if (list.isEmpty()) {
                    throw f; // the fault belongs to this very instruction
                }
                break; // let the faulting instruction start its own block and fault when reached
            }
            list.add(insn);
            long lastByte = csBase + insn.next - 1;
            if ((lastByte ^ (csBase + pc)) >>> 12 != 0) {
                second = cpu.mem.codePage(lastByte); // straddles into the next page
            }
            pc = insn.next;
            if (insn.spec.has(OpSpec.ENDS_BLOCK) || list.size() >= MAX_BLOCK || ((csBase + pc) ^ linear) >>> 12 != 0
                    || second >= 0) {
                break;
            }
        }
        return new Block(rip, linear, cpu.mode, list.toArray(new Insn[0]), hostPage, second, generation,
                second < 0 ? 0 : codePages.generation(second));
    }

    /**
     * The instructions (and their bytes) of {@code first} and of the blocks it runs into on one path: through a conditional
     * branch (the way it mostly went while interpreted, see {@link Block#mostlyTaken}), a direct jump, or a block that ended at
     * its size limit. The path stays on
     * {@code first}'s page (so dropping that page drops the translation) and visits no block twice. The
     * translator treats the inner branches as side exits.
     */
    Trace trace(Cpu cpu, Block first, int limit) {
        List<Insn> out = new ArrayList<>(java.util.Arrays.asList(first.insns));
        List<Block> path = new ArrayList<>();
        path.add(first);
        List<Long> seen = new ArrayList<>();
        seen.add(first.start);
        Block current = first;
        while (out.size() < limit && current.secondHostPage < 0 && first.mode == Cpu.MODE_64) {
            Insn last = current.insns[current.insns.length - 1];
            long next;
            if (Branches.isConditional(last)) {
                next = current.mostlyTaken() ? last.imm : last.next;
            } else if (Branches.isDirectJump(last)) {
                next = last.imm;
            } else if (!last.spec.has(OpSpec.ENDS_BLOCK)) {
                next = last.next;
            } else {
                break;
            }
            if (((next ^ first.linear) >>> 12) != 0 || seen.contains(next)) {
                break;
            }
            Block b;
            try {
                b = lookup(cpu, next);
            } catch (CpuFault f) {
                break;
            }
            if (b.hostPage != first.hostPage || b.secondHostPage >= 0 || b.mode != first.mode
                    || out.size() + b.insns.length > limit) {
                break;
            }
            out.addAll(java.util.Arrays.asList(b.insns));
            path.add(b);
            seen.add(next);
            current = b;
        }
        Insn[] insns = out.toArray(new Insn[0]);
        return new Trace(insns, bytes(cpu, insns, path));
    }

    /** A trace's instructions, and the bytes they were decoded from (null where those could not be read back). */
    record Trace(Insn[] insns, byte[] bytes) {}

    /**
     * The bytes of {@code insns}, read back through instruction fetch; null if a fetch faults or if any block of
     * {@code path} was written since it was decoded (then the bytes read may not be those decoded).
     */
    private byte[] bytes(Cpu cpu, Insn[] insns, List<Block> path) {
        if (cpu.mode != Cpu.MODE_64) {
            return null; // only 64-bit code is translated, at linear addresses equal to RIP
        }
        int length = 0;
        for (Insn i : insns) {
            length += (int) (i.next - i.addr);
        }
        byte[] bytes = new byte[length];
        int at = 0;
        try {
            for (Insn i : insns) {
                for (long a = i.addr; a < i.next; a++) {
                    bytes[at++] = (byte) cpu.mem.fetch8(a);
                }
            }
        } catch (CpuFault f) {
            return null;
        }
        for (Block b : path) {
            if (codePages.generation(b.hostPage) != b.generation
                    || b.secondHostPage >= 0 && codePages.generation(b.secondHostPage) != b.secondGeneration) {
                return null;
            }
        }
        return bytes;
    }

    /** Drops all code decoded from {@code hostPage}; true if the running block was among it. */
    boolean invalidatePage(long hostPage, long nowNanos) {
        List<Block> list = byPage.remove(hostPage);
        if (list == null) {
            return false;
        }
        boolean hitRunning = false;
        for (Block b : list) {
            if (!b.valid) {
                continue;
            }
            retire(b);
            discarded(b, nowNanos);
            hitRunning |= b == running;
        }
        return hitRunning;
    }

    /** Drops everything (the address space changed under us). */
    void clear() {
        live = 0;
        blocks.clear();
        byPage.clear();
        java.util.Arrays.fill(fast, null);
    }
}
