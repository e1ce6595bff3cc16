package dev.hako.soft.exec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.Mmu;
import dev.hako.soft.mmu.PageWalker;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** Code that ran once does not stay decoded forever, and code dropped by a sweep runs again when reached. */
class BlockCacheSweepTest {
    private static final long CODE = 0x1000, LOOP = 0xEFF0, RAM = 0x10000;

    @Test
    void blocksThatRanOnceAreSweptAndDecodedAgainWhenTheyRunAgain() {
        MemorySegment ram = Arena.ofAuto().allocate(RAM, 4096);
        int jumps = (int) ((LOOP - CODE) / 2);
        for (long at = CODE; at < LOOP; at += 2) { // jmp $+2: every instruction a block of its own
            ram.set(java.lang.foreign.ValueLayout.JAVA_BYTE, at, (byte) 0xEB);
            ram.set(java.lang.foreign.ValueLayout.JAVA_BYTE, at + 1, (byte) 0x00);
        }
        // dec ecx; jnz CODE; syscall
        byte[] tail = {(byte) 0xFF, (byte) 0xC9, 0x0F, (byte) 0x85, 0, 0, 0, 0, 0x0F, 0x05};
        int rel = (int) (CODE - (LOOP + 8));
        for (int i = 0; i < 4; i++) {
            tail[4 + i] = (byte) (rel >>> (8 * i));
        }
        MemorySegment.copy(MemorySegment.ofArray(tail), 0, ram, LOOP, tail.length);
        CpuFault flat = new CpuFault();
        Cpu cpu = new Cpu(new Mmu(ram, (gva, access) -> {
            if (gva < 0 || gva >= RAM) {
                throw flat.raise(CpuFault.PF, access == PageWalker.WRITE ? 2 : 0, true, gva);
            }
            return gva & ~0xFFFL;
        }));
        CpuFault[] seen = new CpuFault[1];
        Interpreter interpreter = new Interpreter(cpu, (c, f, in) -> {
            seen[0] = f;
            in.stop();
        });
        cpu.syscallHandler = c -> interpreter.stop();
        cpu.rip = CODE;
        cpu.r[Cpu.RCX] = 3;

        interpreter.run();

        assertThat(seen[0]).isNull();
        assertThat(cpu.rip).isEqualTo(LOOP + tail.length);
        assertThat(cpu.instructions).isEqualTo(3L * (jumps + 2) + 1);
        assertThat(jumps).isGreaterThan(3 * BlockCache.MIN_SWEEP);
        BlockCache cache = interpreter.blockCache();
        assertThat(cache.size()).isLessThanOrEqualTo(2 * BlockCache.MIN_SWEEP).isPositive();

        long now = System.nanoTime();
        cache.idle(now + BlockCache.IDLE_SWEEP_NANOS); // the guest halts: what ran last is looked at
        assertThat(cache.size()).isPositive();
        cache.idle(now + BlockCache.IDLE_SWEEP_NANOS + 1); // too soon for another sweep
        assertThat(cache.size()).isPositive();
        cache.idle(now + 2 * BlockCache.IDLE_SWEEP_NANOS); // nothing ran since: all goes but the block it is in
        assertThat(cache.size()).isEqualTo(1);
    }
}
