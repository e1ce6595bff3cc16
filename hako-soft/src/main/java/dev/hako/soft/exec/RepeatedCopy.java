package dev.hako.soft.exec;

import dev.hako.soft.mmu.Mmu;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * REP MOVS and REP STOS upwards with 64-bit addresses, a page at a time instead of an element at a time: the
 * kernel clears and copies pages, and programs copy buffers, this way. Each step covers the elements that lie
 * whole within one source page and one destination page of RAM, translated (and faulting) as the element loop
 * would, and leaves RCX, RSI and RDI as they are after those elements, so a fault at the next page is as
 * restartable as hardware makes it. Fast-string stores may land in any order (SDM vol. 1 §7.3.9.3), so one
 * release fence covers a step. What this does not take (an element across a page, MMIO, overlapping copies
 * nearer than an element) is left to the element loop.
 */
final class RepeatedCopy {
    /** Pages per run (1 MiB), after which the instruction restarts so interrupts and stops get a look. */
    private static final int PAGES_PER_RUN = 256;
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private RepeatedCopy() {}

    /**
     * Does what it can of the repeated MOVS ({@code movs}) or STOS of {@code size}-byte elements; true when it
     * stopped at its budget with elements left, so the caller restarts the instruction.
     */
    static boolean run(Cpu c, boolean movs, int size, long sourceBase) {
        Mmu mem = c.mem;
        MemorySegment ram = mem.ram();
        long[] r = c.r;
        for (int pages = 0; pages < PAGES_PER_RUN; pages++) {
            long count = r[Cpu.RCX];
            if (count == 0) {
                return false;
            }
            long rdi = r[Cpu.RDI];
            long n = Math.min(count, (0x1000 - (rdi & 0xFFF)) / size);
            long source = sourceBase + r[Cpu.RSI];
            if (movs) {
                n = Math.min(n, (0x1000 - (source & 0xFFF)) / size);
            }
            if (n == 0) {
                return false;
            }
            long sourceOffset = movs ? mem.ramOffsetForRead(source) : 0;
            long targetOffset = mem.ramOffsetForWrite(rdi);
            if (sourceOffset < 0 || targetOffset < 0) {
                return false;
            }
            long bytes = n * size;
            VarHandle.releaseFence();
            if (movs) {
                long distance = targetOffset - sourceOffset;
                if (distance > 0 && distance < bytes) {
                    // Element order repeats the bytes ahead of the target, which a memmove would not do: copy
                    // no further than the distance, so each step's source is untouched by its own stores.
                    n = distance / size;
                    if (n == 0) {
                        return false;
                    }
                    bytes = n * size;
                }
                MemorySegment.copy(ram, sourceOffset, ram, targetOffset, bytes);
                r[Cpu.RSI] += bytes;
            } else {
                fill(ram, targetOffset, n, size, r[Cpu.RAX]);
            }
            r[Cpu.RDI] = rdi + bytes;
            r[Cpu.RCX] = count - n;
        }
        return r[Cpu.RCX] != 0;
    }

    private static void fill(MemorySegment ram, long offset, long n, int size, long value) {
        switch (size) {
            case 8 -> {
                for (long k = 0; k < n; k++) {
                    ram.set(U64, offset + 8 * k, value);
                }
            }
            case 4 -> {
                for (long k = 0; k < n; k++) {
                    ram.set(U32, offset + 4 * k, (int) value);
                }
            }
            case 2 -> {
                for (long k = 0; k < n; k++) {
                    ram.set(U16, offset + 2 * k, (short) value);
                }
            }
            default -> {
                long pattern = (value & 0xFF) * 0x0101_0101_0101_0101L;
                long k = 0;
                for (; k + 8 <= n; k += 8) {
                    ram.set(U64, offset + k, pattern);
                }
                for (; k < n; k++) {
                    ram.set(ValueLayout.JAVA_BYTE, offset + k, (byte) value);
                }
            }
        }
    }
}
