package dev.hako.soft.exec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.Mmu;
import dev.hako.soft.mmu.PageWalker;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * REP MOVS and REP STOS run a page at a time: the result (memory, RSI, RDI, RCX, and where a fault stops them)
 * must be what element-by-element execution gives, across page boundaries, with pages mapped out of order, a
 * page that faults, overlapping copies, elements that straddle pages, and counts past the per-run budget (the
 * instruction restarts itself).
 */
class RepeatedCopyTest {
    private static final int PAGES = 24;
    private static final long BASE = 0x40_0000L;
    /** Linear page k maps to host page MAP[k]; the page at HOLE is not mapped. */
    private static final int[] MAP = shuffledPages();
    private static final int HOLE = 17;

    private static int[] shuffledPages() {
        int[] map = new int[PAGES];
        for (int k = 0; k < PAGES; k++) {
            map[k] = (k * 7 + 3) % PAGES;
        }
        return map;
    }

    @Test
    void bulkCopiesAndFillsMatchElementByElement() {
        Random rnd = new Random(12345);
        for (int round = 0; round < 3000; round++) {
            boolean movs = rnd.nextBoolean();
            int size = 1 << rnd.nextInt(4);
            long rsi = BASE + rnd.nextInt(PAGES * 4096);
            long rdi = rnd.nextInt(4) == 0 ? rsi + rnd.nextInt(64) - 32 : BASE + rnd.nextInt(PAGES * 4096);
            long rcx = rnd.nextInt(8) == 0 ? rnd.nextInt(3 * 4096) : rnd.nextInt(600);
            long rax = rnd.nextLong();
            byte[] initial = new byte[PAGES * 4096];
            rnd.nextBytes(initial);

            Expected expected = elementByElement(initial.clone(), movs, size, rsi, rdi, rcx, rax);
            Machine soft = new Machine(initial);
            soft.run(movs, size, rsi, rdi, rcx, rax);
            String what = String.format("round %d: rep %s%d rsi=%x rdi=%x rcx=%d", round, movs ? "movs" : "stos",
                    size * 8, rsi, rdi, rcx);
            assertThat(soft.faultAddress).as(what + " faulting page").isEqualTo(expected.faultAddress);
            assertThat(soft.cpu.r[Cpu.RCX]).as(what + " rcx").isEqualTo(expected.rcx);
            assertThat(soft.cpu.r[Cpu.RSI]).as(what + " rsi").isEqualTo(movs ? expected.rsi : rsi);
            assertThat(soft.cpu.r[Cpu.RDI]).as(what + " rdi").isEqualTo(expected.rdi);
            assertThat(soft.linearBytes()).as(what + " memory").isEqualTo(expected.memory);
        }
    }

    @Test
    void longRunsRestartThemselvesAndStillFinish() {
        int pages = 320; // more than one run's budget of 256 pages
        MemorySegment ram = Arena.ofAuto().allocate((long) pages * 4096, 4096);
        Cpu cpu = new Cpu(new Mmu(ram, (gva, access) -> gva & ~0xFFFL));
        dev.hako.soft.decode.Insn insn = repStos(8);
        cpu.r[Cpu.RDI] = 0;
        cpu.r[Cpu.RCX] = pages * 512L;
        cpu.r[Cpu.RAX] = 0x0123_4567_89AB_CDEFL;
        int restarts = 0;
        do {
            cpu.rip = insn.next;
            Strings.string(cpu, insn);
            restarts += cpu.rip == insn.addr ? 1 : 0;
        } while (cpu.rip == insn.addr);
        assertThat(restarts).as("restarts").isEqualTo(1);
        assertThat(cpu.r[Cpu.RCX]).isZero();
        assertThat(cpu.r[Cpu.RDI]).isEqualTo(pages * 4096L);
        for (long k = 0; k < pages * 512L; k++) {
            assertThat(ram.get(ValueLayout.JAVA_LONG_UNALIGNED, 8 * k)).as("qword %d", k).isEqualTo(cpu.r[Cpu.RAX]);
        }
    }

    private static dev.hako.soft.decode.Insn repStos(int size) {
        dev.hako.soft.decode.Insn insn = new dev.hako.soft.decode.Insn();
        insn.addr = 0x1000;
        insn.next = 0x1003;
        insn.rep = dev.hako.soft.decode.Insn.REP;
        insn.opSize = size;
        insn.addrSize = 8;
        insn.sub = 2;
        insn.segment = Cpu.SEG_NONE;
        return insn;
    }

    private record Expected(byte[] memory, long rsi, long rdi, long rcx, long faultAddress) {}

    /** The SDM's loop: one element at a time, stopping with the registers as they are at a faulting element. */
    private static Expected elementByElement(byte[] mem, boolean movs, int size, long rsi, long rdi, long rcx,
            long rax) {
        while (rcx != 0) {
            long value;
            if (movs) {
                long fault = firstFault(rsi, size);
                if (fault >= 0) {
                    return new Expected(mem, rsi, rdi, rcx, fault);
                }
                value = 0;
                for (int b = 0; b < size; b++) {
                    value |= (mem[(int) (rsi - BASE) + b] & 0xFFL) << (8 * b);
                }
            } else {
                value = rax;
            }
            long fault = firstFault(rdi, size);
            if (fault >= 0) {
                return new Expected(mem, rsi, rdi, rcx, fault);
            }
            for (int b = 0; b < size; b++) {
                mem[(int) (rdi - BASE) + b] = (byte) (value >>> (8 * b));
            }
            rsi += size;
            rdi += size;
            rcx--;
        }
        return new Expected(mem, rsi, rdi, rcx, -1);
    }

    /** The page of the first byte of the element that is not mapped, or -1. */
    private static long firstFault(long address, int size) {
        for (long a = address; a < address + size; a++) {
            long page = (a - BASE) >> 12;
            if (a < BASE || page >= PAGES || page == HOLE) {
                return a >>> 12;
            }
        }
        return -1;
    }

    /** A soft CPU over RAM whose pages are mapped out of order, with one page unmapped. */
    private static final class Machine {
        final MemorySegment ram = Arena.ofAuto().allocate((long) PAGES * 4096, 4096);
        final Cpu cpu;
        long faultAddress = -1;

        Machine(byte[] linear) {
            CpuFault fault = new CpuFault();
            PageWalker walker = (gva, access) -> {
                long page = (gva - BASE) >> 12;
                if (gva < BASE || page >= PAGES || page == HOLE) {
                    throw fault.raise(CpuFault.PF, access == PageWalker.WRITE ? 2 : 0, true, gva);
                }
                return (long) MAP[(int) page] << 12;
            };
            cpu = new Cpu(new Mmu(ram, walker));
            for (int k = 0; k < PAGES; k++) {
                MemorySegment.copy(MemorySegment.ofArray(linear), (long) k << 12, ram, (long) MAP[k] << 12, 4096);
            }
        }

        /** Runs REP MOVS/STOS as the interpreter would: restarting while it sets RIP back to itself. */
        void run(boolean movs, int size, long rsi, long rdi, long rcx, long rax) {
            cpu.r[Cpu.RSI] = rsi;
            cpu.r[Cpu.RDI] = rdi;
            cpu.r[Cpu.RCX] = rcx;
            cpu.r[Cpu.RAX] = rax;
            // rep [66|REX.W] movs/stos at an address outside the mapped pages: only data goes through the MMU
            // under test, the instruction runs from a decoded Insn.
            dev.hako.soft.decode.Insn insn = repStos(size);
            insn.sub = movs ? 0 : 2;
            try {
                do {
                    cpu.rip = insn.next;
                    Strings.string(cpu, insn);
                } while (cpu.rip == insn.addr);
            } catch (CpuFault f) {
                faultAddress = f.address() >>> 12;
            }
        }

        byte[] linearBytes() {
            byte[] out = new byte[PAGES * 4096];
            for (int k = 0; k < PAGES; k++) {
                MemorySegment.copy(ram, (long) MAP[k] << 12, MemorySegment.ofArray(out), (long) k << 12, 4096);
            }
            return out;
        }
    }
}
