package dev.hako.soft.exec;

import dev.hako.soft.decode.Decoder;
import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpSpec;
import dev.hako.soft.fault.CpuFault;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Decoded code, kept per guest address and dropped per host page when the page is written. Lookups go
 * through a direct-mapped array first, so a hot branch target costs one array load and one compare.
 */
final class BlockCache {
    private static final int MAX_BLOCK = 64;
    private static final int FAST_BITS = 14;
    private final Block[] fast = new Block[1 << FAST_BITS];
    private final Map<Long, Block> blocks = new HashMap<>();
    private final Map<Long, List<Block>> byPage = new HashMap<>();
    private final Decoder decoder;
    /** The block being run, so a store into it can end it early. */
    Block running;

    private final dev.hako.soft.mmu.CodePages codePages;

    BlockCache(Decoder decoder, dev.hako.soft.mmu.CodePages codePages) {
        this.decoder = decoder;
        this.codePages = codePages;
    }

    private static int slot(long rip) {
        return (int) (rip ^ (rip >>> FAST_BITS)) & ((1 << FAST_BITS) - 1);
    }

    Block lookup(Cpu cpu, long rip) {
        int mode = cpu.mode;
        long linear = mode == Cpu.MODE_64 ? rip : cpu.linearRip();
        int s = slot(linear);
        Block b = fast[s];
        if (b != null && b.start == rip && b.linear == linear && b.mode == mode && current(b)) {
            return b;
        }
        b = blocks.get(linear);
        if (b == null || b.start != rip || b.mode != mode || !current(b)) {
            if (b != null) {
                retire(b); // the same bytes seen through another CS base or mode: decode them again
            }
            b = decodeBlock(cpu, rip, linear);
            blocks.put(linear, b);
            byPage.computeIfAbsent(b.hostPage, k -> new ArrayList<>()).add(b);
            if (b.secondHostPage >= 0) {
                byPage.computeIfAbsent(b.secondHostPage, k -> new ArrayList<>()).add(b);
            }
        }
        fast[s] = b;
        return b;
    }

    /** False when another vCPU wrote the block's code since it was decoded. */
    private boolean current(Block b) {
        return codePages.generation(b.hostPage) == b.generation
                && (b.secondHostPage < 0 || codePages.generation(b.secondHostPage) == b.secondGeneration);
    }

    private void retire(Block b) {
        b.valid = false;
        blocks.remove(b.linear);
        int s = slot(b.linear);
        if (fast[s] == b) {
            fast[s] = null;
        }
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
     * The instructions of {@code first} and of the blocks it runs into on one path: through a conditional
     * branch (taken if backward, as loops are, else falling through), a direct jump, or a block that ended at
     * its size limit. The path stays on
     * {@code first}'s page (so dropping that page drops the translation) and visits no block twice. The
     * translator treats the inner branches as side exits.
     */
    Insn[] trace(Cpu cpu, Block first, int limit) {
        List<Insn> out = new ArrayList<>(java.util.Arrays.asList(first.insns));
        List<Long> seen = new ArrayList<>();
        seen.add(first.start);
        Block current = first;
        while (out.size() < limit && current.secondHostPage < 0 && first.mode == Cpu.MODE_64) {
            Insn last = current.insns[current.insns.length - 1];
            long next;
            if (Branches.isConditional(last)) {
                next = last.imm - last.addr < 0 ? last.imm : last.next; // backward branches are loops: taken
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
            seen.add(next);
            current = b;
        }
        return out.toArray(new Insn[0]);
    }

    /** Drops all code decoded from {@code hostPage}; true if the running block was among it. */
    boolean invalidatePage(long hostPage) {
        List<Block> list = byPage.remove(hostPage);
        if (list == null) {
            return false;
        }
        boolean hitRunning = false;
        for (Block b : list) {
            if (!b.valid) {
                continue;
            }
            if (blocks.get(b.linear) == b) {
                retire(b);
            }
            b.valid = false;
            hitRunning |= b == running;
        }
        return hitRunning;
    }

    /** Drops everything (the address space changed under us). */
    void clear() {
        blocks.clear();
        byPage.clear();
        java.util.Arrays.fill(fast, null);
    }
}
