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
 * Translations shared between vCPUs of separate machines: the same code at the same addresses runs one
 * translation, and different code at the same addresses (another VM's kernel, a hostile guest) never does.
 */
class SharedTranslationsTest {
    private static final int RAM = 0x10000;
    private static final long CODE = 0x1000;

    /** mov eax, 0; l: add eax, IMM; dec r15; jnz l; syscall. */
    private static byte[] loop(int imm) {
        return HexFormat.of().parseHex("B800000000" + "83C0" + String.format("%02X", imm) + "49FFCF" + "75F8" + "0F05");
    }

    /** Runs the program on a machine of its own with {@code translator}; returns RAX. */
    private static long run(byte[] code, BlockBuilder translator, int iterations) {
        MemorySegment ram = Arena.ofAuto().allocate(RAM, 4096);
        MemorySegment.copy(code, 0, ram, ValueLayout.JAVA_BYTE, CODE, code.length);
        Cpu cpu = new Cpu(new Mmu(ram, new FlatWalker(RAM)));
        Interpreter interpreter = new Interpreter(cpu, (c, f, in) -> in.stop(), translator);
        cpu.syscallHandler = c -> interpreter.stop();
        cpu.r[15] = iterations;
        cpu.rip = CODE;
        interpreter.run();
        return cpu.r[Cpu.RAX];
    }

    @Test
    void sameCodeAtTheSameAddressesRunsOneTranslation() {
        byte[] code = loop(0x13);
        BlockBuilder first = new BlockBuilder(true, 1);
        BlockBuilder second = new BlockBuilder(true, 1);
        assertThat(run(code, first, 100)).isEqualTo(0x13 * 100);
        assertThat(first.translated()).isPositive();
        assertThat(run(code, second, 250)).isEqualTo(0x13 * 250);
        assertThat(second.reused()).as("traces the second machine took from the first").isEqualTo(second.translated())
                .isPositive();
    }

    @Test
    void differentCodeAtTheSameAddressesIsNeverShared() {
        BlockBuilder first = new BlockBuilder(true, 1);
        BlockBuilder second = new BlockBuilder(true, 1);
        assertThat(run(loop(0x21), first, 10)).isEqualTo(0x21 * 10);
        assertThat(run(loop(0x22), second, 10)).as("the second machine's own loop ran").isEqualTo(0x22 * 10);
        // The SYSCALL at the end is the same in both programs: that trace alone may be shared.
        assertThat(second.translated() - second.reused()).as("traces the second machine made itself").isPositive();
    }

    @Test
    void translationsNoVcpuUsesAreLetGo() throws InterruptedException {
        for (int imm = 0x30; imm < 0x40; imm++) {
            run(loop(imm), new BlockBuilder(true, 1), 3);
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (SharedTranslations.size() > 8 && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
        }
        assertThat(SharedTranslations.size()).as("entries left once their machines are gone").isLessThanOrEqualTo(8);
    }
}
