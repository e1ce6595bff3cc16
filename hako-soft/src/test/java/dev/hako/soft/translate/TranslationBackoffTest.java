package dev.hako.soft.translate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Interpreter;
import dev.hako.soft.mmu.Mmu;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * When code on a rewritten page is translated: stores that threw translations away make the page's code wait
 * longer; stores before any translation (Linux patching its text while it boots) do not.
 */
class TranslationBackoffTest {
    private static final int RAM = 0x10000;
    private static final long CODE = 0x1000;
    /** mov [rip+0x7FA], al: a store to 0x1800, on the code's own page. */
    private static final String STORE_TO_OWN_PAGE = "8805FA070000";

    private record Run(Cpu cpu, MemorySegment ram, BlockBuilder translator) {}

    private static Run run(String hex, int threshold, long rcx, long rdx) {
        byte[] bytes = HexFormat.of().parseHex(hex.replace(" ", ""));
        MemorySegment ram = Arena.ofAuto().allocate(RAM, 4096);
        MemorySegment.copy(bytes, 0, ram, ValueLayout.JAVA_BYTE, CODE, bytes.length);
        Cpu cpu = new Cpu(new Mmu(ram, new FlatWalker(RAM)));
        BlockBuilder translator = new BlockBuilder(true, threshold);
        Interpreter interpreter = new Interpreter(cpu, (c, f, in) -> in.stop(), translator);
        cpu.syscallHandler = c -> interpreter.stop();
        cpu.r[Cpu.RAX] = 0x5A;
        cpu.r[Cpu.RCX] = rcx;
        cpu.r[Cpu.RDX] = rdx;
        cpu.rip = CODE;
        interpreter.run();
        return new Run(cpu, ram, translator);
    }

    @Test
    void codeRewrittenOnlyBeforeItRanHotIsTranslatedAtTheUsualThreshold() {
        // l1: store to the page; dec rcx; jnz l1 (ten rewrites, none translated); l2: add rax,1; dec rdx; jnz l2;
        // syscall
        Run r = run(STORE_TO_OWN_PAGE + "48FFC9 75F5 4883C001 48FFCA 75F7 0F05", 100, 10, 300);
        assertThat(r.cpu.r[Cpu.RAX]).isEqualTo(0x5A + 300);
        assertThat(r.ram.get(ValueLayout.JAVA_BYTE, 0x1800)).isEqualTo((byte) 0x5A);
        assertThat(r.translator.translated()).as("the second loop, after 100 of its 300 turns").isEqualTo(1);
    }

    @Test
    void codeWhosePageKeepsBeingRewrittenUnderItsTranslationWaitsLonger() {
        // outer: store to the page; mov ecx, 50; inner: dec rcx; jnz inner; dec rdx; jnz outer; syscall. Each outer
        // turn's store throws away the translation of the inner loop, if it has one.
        Run r = run(STORE_TO_OWN_PAGE + "B932000000 48FFC9 75FB 48FFCA 75EB 0F05", 10, 0, 20);
        assertThat(r.cpu.r[Cpu.RDX]).isZero();
        assertThat(r.cpu.instructions).isEqualTo(20 * (2 + 2 * 50 + 2) + 1);
        // the inner loop is translated at its 10th, 20th and 40th run in the first three outer turns, then would
        // need 80 runs of the 50 it has; a fixed threshold translated it in each of the 20 turns
        assertThat(r.translator.translated()).isBetween(2L, 4L);
    }
}
