package dev.hako.soft.translate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Interpreter;
import dev.hako.soft.mmu.Mmu;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The translator against the interpreter: the same random programs ({@link RandomProgram}) run
 * interpreted only, translated from the first run (threshold 1), and translated after a few interpreted
 * runs; registers (XMM too), RFLAGS, RIP, memory, the retired count and every fault (with the state it
 * saw) must match.
 */
class TranslatorTest {
    private static final int RAM = 0x10000;
    private static final long CODE = 0x1000;
    private static final int PROGRAMS = 400;

    /** What a run leaves: final state, and a line per fault with the state the fault handler saw. */
    private record Outcome(long[] regs, long[] xmm, long rflags, long rip, long instructions, byte[] memory,
            List<String> faults, long translated) {
        String describe() {
            return "rip=" + Long.toHexString(rip) + " rflags=" + Long.toHexString(rflags) + " insns=" + instructions
                    + " regs=" + Arrays.toString(regs) + " xmm=" + Arrays.toString(xmm) + " faults=" + faults;
        }
    }

    private static Outcome run(RandomProgram p, long seed, BlockBuilder translator) {
        MemorySegment ram = Arena.ofAuto().allocate(RAM, 4096);
        MemorySegment.copy(p.code, 0, ram, ValueLayout.JAVA_BYTE, p.start, p.code.length);
        Random data = new Random(seed);
        for (long a = RandomProgram.DATA; a < RAM; a += 8) {
            ram.set(ValueLayout.JAVA_LONG_UNALIGNED, a, data.nextLong());
        }
        Cpu cpu = new Cpu(new Mmu(ram, new FlatWalker(RAM)));
        List<String> faults = new ArrayList<>();
        Interpreter interpreter = new Interpreter(cpu, (c, f, in) -> {
            faults.add(f.vector() + "@" + Long.toHexString(c.rip) + " rflags=" + Long.toHexString(c.rflags())
                    + " regs=" + Arrays.toString(c.r) + " xmm=" + Arrays.hashCode(c.xmm) + " n=" + c.instructions);
            Long next = p.faultingNext.get(c.rip);
            if (next == null || faults.size() > 50) {
                in.stop();
            } else {
                c.rip = next;
            }
        }, translator);
        cpu.syscallHandler = c -> interpreter.stop();
        for (int r = 0; r < 16; r++) {
            cpu.r[r] = data.nextLong();
        }
        cpu.setCpl(0); // STI is allowed
        cpu.r[Cpu.RSP] = RandomProgram.STACK_TOP;
        cpu.r[12] = RandomProgram.DATA;
        cpu.r[13] = RandomProgram.DATA + 0x1000;
        cpu.r[14] = data.nextInt(256);
        cpu.r[15] = 1 + data.nextInt(6);
        cpu.setRflags(data.nextLong(), 0x8D5);
        for (int k = 0; k < cpu.xmm.length; k++) {
            cpu.xmm[k] = k % 3 == 0 ? data.nextLong() : fewByteValues(data); // equal bytes and sign bits are common
        }
        cpu.rip = p.start;
        Thread watchdog = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(20_000);
                interpreter.requestStop(); // a runaway loop fails the test instead of hanging it
            } catch (InterruptedException done) {
                // finished in time
            }
        });
        Interpreter.Exit exit = interpreter.run();
        watchdog.interrupt();
        assertThat(interpreter.stopped())
                .as("program %d ended by SYSCALL or a fault, not the watchdog (%s)", seed, exit).isTrue();
        byte[] memory = ram.toArray(ValueLayout.JAVA_BYTE);
        return new Outcome(cpu.r.clone(), cpu.xmm.clone(), cpu.rflags(), cpu.rip, cpu.instructions, memory, faults,
                translator.translated());
    }

    /** Eight bytes each 00, 7F, 80 or FF. */
    private static long fewByteValues(Random data) {
        long v = 0;
        for (int b = 0; b < 8; b++) {
            v = v << 8 | new int[] {0x00, 0x7F, 0x80, 0xFF}[data.nextInt(4)];
        }
        return v;
    }

    private static void assertSame(Outcome expected, Outcome actual, String what) {
        assertThat(actual.describe()).as(what).isEqualTo(expected.describe());
        assertThat(Arrays.mismatch(actual.memory, expected.memory)).as(what + ": first differing memory byte")
                .isEqualTo(-1);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3})
    void randomProgramsMatchTheInterpreter(int threshold) {
        long translatedBlocks = 0;
        for (int seed = 0; seed < PROGRAMS; seed++) {
            RandomProgram p = new RandomProgram(seed, 20 + seed % 120);
            Outcome interpreted = run(p, seed, new BlockBuilder(false, 1));
            Outcome translated = run(p, seed, new BlockBuilder(true, threshold));
            String what = "seed " + seed + " threshold " + threshold + " code " + HexFormat.of().formatHex(p.code);
            assertSame(interpreted, translated, what);
            translatedBlocks += translated.translated;
        }
        assertThat(translatedBlocks).as("blocks translated").isGreaterThan(PROGRAMS / 2);
    }

    @Test
    void programsReallyFaultAndModifyTheirCode() {
        int faulted = 0;
        for (int seed = 0; seed < 100; seed++) {
            RandomProgram p = new RandomProgram(seed, 100);
            if (!run(p, seed, new BlockBuilder(true, 1)).faults.isEmpty()) {
                faulted++;
            }
        }
        assertThat(faulted).as("programs with faults").isGreaterThan(10);
    }

    @Test
    void selfModifyingStoreEndsTheTranslatedBlock() {
        // l: mov dword [rip+6], 0x2A (rewrites the imm of the next mov); mov eax, 7; dec r15; jnz l; syscall
        String code = "C705 01000000 2A000000 B8 07000000 49FFCF 0F85 E8FFFFFF 0F05";
        byte[] bytes = HexFormat.of().parseHex(code.replace(" ", ""));
        for (int threshold : new int[] {1, 2}) {
            MemorySegment ram = Arena.ofAuto().allocate(RAM, 4096);
            MemorySegment.copy(bytes, 0, ram, ValueLayout.JAVA_BYTE, CODE, bytes.length);
            Cpu cpu = new Cpu(new Mmu(ram, new FlatWalker(RAM)));
            Interpreter interpreter = new Interpreter(cpu, (c, f, in) -> in.stop(), new BlockBuilder(true, threshold));
            cpu.syscallHandler = c -> interpreter.stop();
            cpu.r[15] = 3;
            cpu.rip = CODE;
            interpreter.run();
            assertThat(cpu.r[Cpu.RAX]).as("the rewritten immediate is what runs").isEqualTo(0x2A);
            assertThat(cpu.instructions).isEqualTo(3 * 4 + 1);
        }
    }
}
