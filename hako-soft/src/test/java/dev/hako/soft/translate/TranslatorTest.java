package dev.hako.soft.translate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.soft.decode.Decoder;
import dev.hako.soft.decode.Insn;
import dev.hako.soft.exec.BlockCode;
import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Instructions;
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

    // ---- traces that loop back to their start: registers carried in locals across the loop-back ----

    /** l: add rsi,rbx; mov eax,r15d; and eax,1; CPUID; add rdi,rax; mov dl,bl; mov ah,cl; add si,dx; add rbp,rax;
     *  xor rbp,rdx; LAHF; add rbp,rax; dec r15; jnz l; syscall. CPUID and LAHF have no inline form: CPUID writes
     *  RBX, which the loop only reads (a carried register no inline code writes), and RAX..RDX, which it writes
     *  whole and in part (DL, AH, SI); LAHF writes AH. */
    private static final String FALLBACKS_IN_A_LOOP = "4801DE 4489F8 83E001 0FA2 4801C7 88DA 88CC 6601D6 4801C5"
            + " 4831D5 9F 4801C5 49FFCF 75DC 0F05";
    /** l: add rbx,rcx; mov al,cl; xadd rsi,rax; add rsi,rax; LOOP l; syscall: the trace ends in a fallback (LOOP)
     *  that brings it back to its start, after another (XADD) that writes two carried registers. */
    private static final String ENDS_IN_LOOP = "4801CB 88C8 480FC1C6 4801C6 E2F2 0F05";
    /** l: add rax,rbx; mov [rdi],rax; add rdi,rdx; dec r15; jnz l; syscall: a store a stride further each time. */
    private static final String STORES_ON = "4801D8 488907 4801D7 49FFCF 75F2 0F05";
    /** l: add rax,rbx; cmp rax,rsi; ja out; add rcx,rax; mov dh,al; dec r15; jnz l; syscall; out: inc rbp; syscall. */
    private static final String LEAVES_IN_THE_MIDDLE = "4801D8 4839F0 770C 4801C1 88C6 49FFCF 75EE 0F05 48FFC5 0F05";
    /**
     * p: add rcx,rax; cmp rcx,rdx; jb s; inc rbp; sub rcx,rdx; dec r15; jnz s; syscall; s (the start, 0x1015): add
     * rax,rbx; mov bh,al; jmp p. The trace from s follows the jump back to p: both conditional branches are side
     * exits to the trace's own start.
     */
    private static final String SIDE_EXITS_TO_THE_START = "4801C1 4839D1 720D 48FFC5 4829D1 49FFCF 7502 0F05"
            + " 4801D8 88C7 EBE4";

    private static byte[] hex(String code) {
        return HexFormat.of().parseHex(code.replace(" ", ""));
    }

    /**
     * Runs {@code code} from {@code start} with registers {@code regs} (the rest zero) until SYSCALL; a #PF on a page
     * of {@code unmapped} (or a store to one of {@code readOnly}) is recorded with the state the handler saw, the page
     * mapped (or made writable), and the instruction resumed.
     */
    private static Outcome runProgram(String code, long start, long[] regs, BlockBuilder translator, long[] unmapped,
            long[] readOnly) {
        MemorySegment ram = Arena.ofAuto().allocate(RAM, 4096);
        byte[] bytes = hex(code);
        MemorySegment.copy(bytes, 0, ram, ValueLayout.JAVA_BYTE, CODE, bytes.length);
        FlatWalker walker = new FlatWalker(RAM);
        for (long page : unmapped) {
            walker.unmapped.add(page);
        }
        for (long page : readOnly) {
            walker.readOnly.add(page);
        }
        Cpu cpu = new Cpu(new Mmu(ram, walker));
        List<String> faults = new ArrayList<>();
        Interpreter interpreter = new Interpreter(cpu, (c, f, in) -> {
            faults.add(f.vector() + "@" + Long.toHexString(c.rip) + " cr2=" + Long.toHexString(f.address())
                    + " rflags=" + Long.toHexString(c.rflags()) + " regs=" + Arrays.toString(c.r)
                    + " n=" + c.instructions);
            long page = f.address() & ~0xFFFL;
            if (!walker.unmapped.remove(page) && !walker.readOnly.remove(page)) {
                in.stop();
            }
        }, translator);
        cpu.syscallHandler = c -> interpreter.stop();
        System.arraycopy(regs, 0, cpu.r, 0, regs.length);
        cpu.setCpl(0);
        cpu.rip = start;
        Thread watchdog = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(20_000);
                interpreter.requestStop();
            } catch (InterruptedException done) {
                // finished in time
            }
        });
        interpreter.run();
        watchdog.interrupt();
        assertThat(interpreter.stopped()).as("ended by SYSCALL, not the watchdog").isTrue();
        return new Outcome(cpu.r.clone(), cpu.xmm.clone(), cpu.rflags(), cpu.rip, cpu.instructions,
                ram.toArray(ValueLayout.JAVA_BYTE), faults, translator.translated());
    }

    /** The program's outcome translated from its first run must be the interpreter's; returns it. */
    private static Outcome translatedAsInterpreted(String code, long start, long[] regs, long... unmapped) {
        return translatedAsInterpreted(code, start, regs, unmapped, new long[0]);
    }

    private static Outcome translatedAsInterpreted(String code, long start, long[] regs, long[] unmapped,
            long[] readOnly) {
        Outcome interpreted = runProgram(code, start, regs, new BlockBuilder(false, 1), unmapped, readOnly);
        Outcome translated = runProgram(code, start, regs, new BlockBuilder(true, 1), unmapped, readOnly);
        assertSame(interpreted, translated, code);
        assertThat(translated.translated).as("traces translated").isPositive();
        return translated;
    }

    @Test
    void fallbacksAndPartialWritesInsideALoop() {
        long[] regs = {0x1111, 0x2222_3344, 0x5555_6677, 0x7777, 0, 0x9999, 0xAAAA_BBBB_CCCCL, 0x1000_0000, 0, 0, 0, 0,
            0, 0, 0, 23};
        Outcome out = translatedAsInterpreted(FALLBACKS_IN_A_LOOP, CODE, regs);
        assertThat(out.instructions).isEqualTo(23 * 14 + 1);
        long[] loop = {0x1234_5678_9ABC_DEF0L, 37, 0, 0x5151, 0, 0, 0x42, 0};
        out = translatedAsInterpreted(ENDS_IN_LOOP, CODE, loop);
        assertThat(out.regs[Cpu.RBX]).as("LOOP counted RCX down: 37 + 36 + ... + 1").isEqualTo(0x5151 + 37 * 38 / 2);
        assertThat(out.instructions).isEqualTo(37 * 5 + 1);
    }

    @ParameterizedTest
    @ValueSource(longs = {0x7200, 0x73FC}) // the fifth store lands on the unmapped page, or the fourth straddles it
    void aStoreFaultsOnALaterIteration(long firstStore) {
        long[] regs = {5, 0, 0x400, 0x10_0001, 0, 0, 0, firstStore, 0, 0, 0, 0, 0, 0, 0, 10};
        Outcome out = translatedAsInterpreted(STORES_ON, CODE, regs, 0x8000);
        assertThat(out.faults).as("one #PF, at the store").hasSize(1);
        long faultingStore = firstStore + (firstStore == 0x7200 ? 4 : 3) * 0x400;
        assertThat(out.faults.get(0)).startsWith("14@1003 ").contains(", " + faultingStore + ", ");
        assertThat(out.regs[15]).as("resumed after the page was mapped, to the loop's end").isZero();
        assertThat(out.regs[Cpu.RDI]).isEqualTo(firstStore + 10 * 0x400);
        assertThat(out.instructions).isEqualTo(10 * 5 + 1);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 7, 40})
    void aSideExitOnTheNthIteration(int n) {
        long[] regs = {0, 0, 0x3_0000, 7, 0, 0, 7L * n - 1, 0, 0, 0, 0, 0, 0, 0, 0, 100};
        Outcome out = translatedAsInterpreted(LEAVES_IN_THE_MIDDLE, CODE, regs);
        assertThat(out.regs[Cpu.RBP]).as("left by the side exit").isEqualTo(1);
        assertThat(out.regs[15]).isEqualTo(100 - (n - 1));
    }

    @Test
    void sideExitsThatComeBackToTheStart() {
        long[] regs = {1, 0, 1000, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20};
        Outcome out = translatedAsInterpreted(SIDE_EXITS_TO_THE_START, CODE + 0x15, regs);
        assertThat(out.regs[15]).isZero();
        assertThat(out.regs[Cpu.RBP]).isEqualTo(20);
    }

    /**
     * l: mov [rip+1],r15d (the immediate of the next instruction); mov eax,imm32; add rbx,rax; dec r15; jnz l;
     * syscall, on a code page that is read-only until its first store faults: every iteration runs the immediate
     * the one before it stored, though each decodes the page again (and so drops its write translations).
     */
    @Test
    void selfModifyingLoopOnAPageThatWasReadOnly() {
        long[] regs = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5};
        Outcome out = translatedAsInterpreted("44893D01000000 B807000000 4801C3 49FFCF 75EC 0F05", CODE, regs,
                new long[0], new long[] {CODE});
        assertThat(out.faults).as("the first store's #PF (write to a read-only page)").hasSize(1);
        assertThat(out.regs[Cpu.RBX]).as("5 + 4 + 3 + 2 + 1: each iteration's stored immediate ran").isEqualTo(15);
    }

    /**
     * l: add r8,1; xor eax,eax; CPUID; add r9,r8; dec r15; jnz l; syscall, kicked from another thread while the
     * translated trace loops: the registers it leaves are those of a whole number k of iterations, and a run
     * resumed from them finishes the loop.
     */
    @Test
    void aLoopKickedFromAnotherThreadLeavesItsRegistersCommitted() throws Exception {
        MemorySegment ram = Arena.ofAuto().allocate(RAM, 4096);
        byte[] bytes = hex("4983C001 31C0 0FA2 4D01C1 49FFCF 75F0 0F05");
        MemorySegment.copy(bytes, 0, ram, ValueLayout.JAVA_BYTE, CODE, bytes.length);
        Cpu cpu = new Cpu(new Mmu(ram, new FlatWalker(RAM)));
        Interpreter interpreter = new Interpreter(cpu, (c, f, in) -> in.stop(), new BlockBuilder(true, 1));
        cpu.syscallHandler = c -> interpreter.stop();
        long total = 1L << 50;
        cpu.r[15] = total;
        cpu.rip = CODE;
        Thread kicker = Thread.ofPlatform().start(() -> {
            // Kicked once the translated loop has turned a few thousand times (each turn stores the retired count),
            // or after 10 s: a loaded machine that is slow to start the loop does not make the test fail.
            long deadline = System.nanoTime() + 10_000_000_000L;
            try {
                while (cpu.instructions < 6 * 5_000 && System.nanoTime() < deadline) {
                    Thread.sleep(1);
                }
            } catch (InterruptedException e) {
                return;
            }
            interpreter.kick();
        });
        assertThat(interpreter.run()).isEqualTo(Interpreter.Exit.KICKED);
        kicker.join();
        long k = cpu.r[8];
        assertThat(k).as("iterations before the kick").isGreaterThan(1000);
        assertThat(cpu.r[9]).as("the sum of 1..k").isEqualTo(k * (k + 1) / 2);
        assertThat(cpu.r[15]).isEqualTo(total - k);
        assertThat(cpu.rip).isEqualTo(CODE);
        assertThat(cpu.instructions).isEqualTo(6 * k);
        cpu.r[15] = 1000;
        assertThat(interpreter.run()).isEqualTo(Interpreter.Exit.STOPPED);
        long all = k + 1000;
        assertThat(cpu.r[8]).isEqualTo(all);
        assertThat(cpu.r[9]).isEqualTo(all * (all + 1) / 2);
        assertThat(cpu.instructions).isEqualTo(6 * all + 1);
    }

    /**
     * t: inc rbx; s: inc rax; cmp rax,rcx; jb t; syscall. The trace from s follows the backward JB to t (inc rbx;
     * inc rax; cmp; jb t). Cut after that first JB, as a trace too big for one method is, the part must go on
     * where the branch went: at t when it is taken, after it when not.
     */
    @ParameterizedTest
    @ValueSource(longs = {5, 1})
    void aTraceCutAfterABranchItFollowsGoesOnWhereTheBranchWent(long limit) {
        MemorySegment ram = Arena.ofAuto().allocate(RAM, 4096);
        byte[] bytes = hex("48FFC3 48FFC0 4839C8 72F5 0F05");
        MemorySegment.copy(bytes, 0, ram, ValueLayout.JAVA_BYTE, CODE, bytes.length);
        Cpu cpu = new Cpu(new Mmu(ram, new FlatWalker(RAM)));
        Decoder decoder = new Decoder(Interpreter.table(), Instructions::undefined);
        long[] addresses = {CODE + 3, CODE + 6, CODE + 9, CODE, CODE + 3, CODE + 6, CODE + 9};
        Insn[] trace = new Insn[addresses.length];
        for (int k = 0; k < trace.length; k++) {
            trace[k] = new Insn();
            decoder.decode(cpu, addresses[k], trace[k]);
        }
        List<Object> classData = new ArrayList<>();
        BlockCode part = new CodeCache().define(ClassEmitter.emit(trace, 3, classData, false), classData);
        cpu.r[Cpu.RCX] = limit;
        cpu.rip = CODE + 11; // the first block's end, as the interpreter leaves it for translated code
        part.run(cpu);
        assertThat(cpu.r[Cpu.RAX]).isEqualTo(1);
        assertThat(cpu.instructions).isEqualTo(3);
        assertThat(cpu.rip).as("where JB went").isEqualTo(1 < limit ? CODE : CODE + 11);
    }
}
