package dev.hako.soft.translate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.time.InstructionClock;
import dev.hako.core.time.TimerQueue;
import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Interpreter;
import dev.hako.soft.mmu.Mmu;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * Deterministic execution's timers: one due at a retired count runs at the first block boundary past it, and a
 * translated trace that loops inside its method leaves there too, so translation does not move the timer.
 */
class InstructionDeadlineTest {
    private static final long CODE = 0x1000, RAM = 0x10000;
    /** mov ecx,100000; l: add rax,rcx; dec rcx; jnz l; syscall: boundaries after 4, then every 3 instructions. */
    private static final String LOOP = "B9 A0860100 4801C8 48FFC9 75F8 0F05";
    /**
     * mov r15d,100000; l: add r8,r15; xor eax,eax; CPUID; test r15b,7; jnz skip; inc r9; skip: dec r15; jnz l;
     * syscall: a loop whose trace calls a handler (CPUID) and leaves by a side exit on seven iterations of eight.
     */
    private static final String LOOP_WITH_EXITS = "41BFA0860100 4D01F8 31C0 0FA2 41F6C707 7503 49FFC1 49FFCF 75EB 0F05";
    private static final long DUE_NANOS = 30_000;

    /** Runs {@link #LOOP} with a timer due at {@link #DUE_NANOS}; returns the retired count when it ran. */
    private static long timerRanAt(BlockBuilder translator) {
        return timerRanAt(LOOP, translator);
    }

    /** Runs {@code loop} with a timer due at {@link #DUE_NANOS}; returns the retired count when it ran. */
    private static long timerRanAt(String loop, BlockBuilder translator) {
        MemorySegment ram = Arena.ofAuto().allocate(RAM, 4096);
        byte[] code = HexFormat.of().parseHex(loop.replace(" ", ""));
        MemorySegment.copy(MemorySegment.ofArray(code), 0, ram, CODE, code.length);
        Cpu cpu = new Cpu(new Mmu(ram, new FlatWalker(RAM)));
        Interpreter interpreter = new Interpreter(cpu, (c, f, in) -> in.stop(), translator);
        cpu.syscallHandler = c -> interpreter.stop();
        InstructionClock clock = new InstructionClock();
        clock.countFrom(() -> cpu.instructions);
        cpu.clock = clock;
        cpu.instructionClock = clock;
        long[] ranAt = {-1};
        TimerQueue.Timer timer = clock.timers().newTimer(() -> ranAt[0] = cpu.instructions);
        timer.arm(DUE_NANOS);
        cpu.instructionDeadline = clock.deadlineInstructions();
        cpu.rip = CODE;
        interpreter.run();
        if (loop.equals(LOOP)) {
            assertThat(cpu.r[Cpu.RAX]).as("the loop ran to its end").isEqualTo(100_000L * 100_001 / 2);
        } else {
            assertThat(cpu.r[8]).as("the loop ran to its end").isEqualTo(100_000L * 100_001 / 2);
            assertThat(cpu.r[9]).as("the iterations that did not take the side exit").isEqualTo(100_000 / 8);
        }
        return ranAt[0];
    }

    @Test
    void aTimerRunsAtTheFirstBoundaryPastItsDeadline() {
        long interpreted = timerRanAt(new BlockBuilder(false, 0));
        assertThat(interpreted).isEqualTo(30_001); // 4 + 3 × 9,999: the first boundary at or past 30,000
    }

    @Test
    void aTranslatedLoopLeavesAtTheDeadlineAsTheInterpreterDoes() {
        assertThat(timerRanAt(new BlockBuilder(true, 2).checkingDeadlines())).isEqualTo(30_001);
    }

    @Test
    void aTranslatedLoopThatDoesNotCheckRunsPastTheDeadline() {
        // The trace of a vCPU that keeps host time loops until something raises attention: here, the loop's end.
        assertThat(timerRanAt(new BlockBuilder(true, 2))).isGreaterThan(300_000);
    }

    @Test
    void aTranslatedLoopWithHandlersAndSideExitsStopsWhereTheInterpreterDoes() {
        long interpreted = timerRanAt(LOOP_WITH_EXITS, new BlockBuilder(false, 0));
        assertThat(interpreted).as("the timer ran inside the loop").isBetween(30_000L, 30_100L);
        assertThat(timerRanAt(LOOP_WITH_EXITS, new BlockBuilder(true, 1).checkingDeadlines())).isEqualTo(interpreted);
    }
}
