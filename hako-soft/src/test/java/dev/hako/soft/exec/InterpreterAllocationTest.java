package dev.hako.soft.exec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.soft.mmu.Mmu;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * The hot loop allocates nothing per instruction or per memory access: once a loop's blocks are decoded,
 * millions of ALU, load, store, stack, string, flag, branch and MMX instructions run with (almost) no
 * allocation on the vCPU's thread.
 */
class InterpreterAllocationTest {
    // mov ecx,N; l: add rax,rcx; mov [rsp-8],rax; mov rdx,[rsp-8]; push rdx; pop rbx; imul rbx,rcx;
    // shl rbx,3; xor rdx,rbx; cmp rdx,rax; setb al; lea rsi,[rsp-64]; mov rdi,rsi; movsq;
    // dec rcx; jnz l; syscall
    private static final String GENERAL = "B9 40420F00 4801C8 48894424F8 488B5424F8 52 5B 480FAFD9 48C1E303 4831DA"
            + " 4839C2 0F92C0 488D7424C0 4889F7 48A5 48FFC9 75D1 0F05";
    // mov ecx,N; l: movq mm0,rcx; paddw mm1,mm0; pmullw mm2,mm1; punpcklbw mm3,mm1; packuswb mm3,mm2;
    // psrlq mm3,7; movq [rsp-8],mm3; movq mm4,[rsp-8]; pshufw mm5,mm4,0x1b; pmovmskb eax,mm5; movd eax,mm5;
    // cvtpi2ps xmm0,mm5; emms; dec rcx; jnz l; syscall
    private static final String MMX = "B9 40420F00 480F6EC1 0FFDC8 0FD5D1 0F60D9 0F67DA 0F73D307 0F7F5C24F8"
            + " 0F6F6424F8 0F70EC1B 0FD7C5 0F7EE8 0F2AC5 0F77 48FFC9 75CE 0F05";

    @Test
    void steadyStateExecutionAllocatesNothing() {
        assertThat(allocatedByMoreIterations(GENERAL, 15)).as("bytes allocated by 15 M more instructions")
                .isLessThan(64 * 1024);
    }

    @Test
    void mmxAllocatesNothing() {
        assertThat(allocatedByMoreIterations(MMX, 15)).as("bytes allocated by 15 M more MMX loop instructions")
                .isLessThan(64 * 1024);
    }

    /**
     * Runs the loop {@code hex} (whose first instruction is MOV ECX, count) for rounds of 1, 1 and 2 million
     * iterations, each on a new CPU: decoding and translating the loop cost the same every round, so what the
     * third allocates beyond the second is what a million more iterations do.
     */
    private static long allocatedByMoreIterations(String hex, int perIteration) {
        MemorySegment ram = Arena.ofAuto().allocate(0x10000, 4096);
        byte[] code = HexFormat.of().parseHex(hex.replace(" ", ""));
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        int[] iterations = {1_000_000, 1_000_000, 2_000_000};
        long[] allocated = new long[iterations.length];
        for (int round = 0; round < iterations.length; round++) {
            MemorySegment.copy(MemorySegment.ofArray(code), 0, ram, 0x1000, code.length);
            ram.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 0x1001, iterations[round]);
            Cpu cpu = new Cpu(new Mmu(ram, (gva, access) -> gva & ~0xFFFL));
            Interpreter in = new Interpreter(cpu, (c, f, i) -> {
                throw new AssertionError(f.getMessage() + " at " + Long.toHexString(c.rip));
            });
            cpu.syscallHandler = c -> in.stop();
            cpu.rip = 0x1000;
            cpu.r[Cpu.RSP] = 0x8000;
            long before = threads.getCurrentThreadAllocatedBytes();
            in.run();
            allocated[round] = threads.getCurrentThreadAllocatedBytes() - before;
            assertThat(cpu.instructions).isEqualTo(1 + (long) perIteration * iterations[round] + 1);
        }
        return allocated[2] - allocated[1];
    }
}
