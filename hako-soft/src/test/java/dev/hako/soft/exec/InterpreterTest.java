package dev.hako.soft.exec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.Mmu;
import dev.hako.soft.mmu.PageWalker;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class InterpreterTest {
    private static final long CODE = 0x1000, STACK_TOP = 0x10000, READ_ONLY_PAGE = 0x9000;

    /** Identity mapping over 64 KiB of RAM; everything else faults. */
    private static final class FlatWalker implements PageWalker {
        final CpuFault fault = new CpuFault();

        @Override
        public long translate(long gva, int access) {
            if (gva < 0 || gva >= 0x10000) {
                throw fault.raise(CpuFault.PF, access == WRITE ? 2 : 0, true, gva);
            }
            if (access == WRITE && (gva & ~0xFFFL) == READ_ONLY_PAGE) {
                throw fault.raise(CpuFault.PF, 3, true, gva); // present, write
            }
            return gva & ~0xFFFL;
        }
    }

    private record Run(Cpu cpu, Interpreter interpreter, CpuFault fault) {}

    private static Run run(String hex) {
        MemorySegment ram = Arena.ofAuto().allocate(0x10000, 4096);
        byte[] code = HexFormat.of().parseHex(hex.replace(" ", ""));
        MemorySegment.copy(MemorySegment.ofArray(code), 0, ram, CODE, code.length);
        Cpu cpu = new Cpu(new Mmu(ram, new FlatWalker()));
        CpuFault[] seen = new CpuFault[1];
        Interpreter interpreter = new Interpreter(cpu, (c, f, in) -> {
            seen[0] = f;
            in.stop();
        });
        cpu.syscallHandler = c -> interpreter.stop();
        cpu.rip = CODE;
        cpu.r[Cpu.RSP] = STACK_TOP;
        interpreter.run();
        return new Run(cpu, interpreter, seen[0]);
    }

    @Test
    void sumsALoop() {
        // mov ecx,100; xor eax,eax; l: add rax,rcx; dec rcx; jnz l; syscall
        Run r = run("B9 64000000 31C0 4801C8 48FFC9 75F8 0F05");
        assertThat(r.fault()).isNull();
        assertThat(r.cpu().r[Cpu.RAX]).isEqualTo(5050);
        assertThat(r.cpu().r[Cpu.RCX]).as("SYSCALL leaves the return address in RCX").isEqualTo(CODE + 17);
        assertThat(r.cpu().instructions).isEqualTo(2 + 3 * 100 + 1);
    }

    /** Code that ran once does not stay decoded forever, and code a sweep dropped runs again when reached. */
    @Test
    void blocksThatRanOnceAreSweptAndDecodedAgainWhenTheyRunAgain() {
        int jumps = (0xEFF0 - (int) CODE - 5) / 2;
        long loop = CODE + 5, tail = loop + 2L * jumps;
        int back = (int) (loop - (tail + 8));
        // mov ecx,3; loop: jmp $+2 (each its own block) ...; dec ecx; jnz loop; syscall
        Run r = run("B9 03000000" + "EB00".repeat(jumps) + "FFC9 0F85"
                + HexFormat.of().toHexDigits(Integer.reverseBytes(back)) + "0F05");
        assertThat(r.fault()).isNull();
        assertThat(r.cpu().instructions).isEqualTo(1 + 3L * (jumps + 2) + 1);
        assertThat(jumps).isGreaterThan(3 * BlockCache.MIN_SWEEP);
        BlockCache cache = r.interpreter().blockCache();
        assertThat(cache.size()).isLessThanOrEqualTo(2 * BlockCache.MIN_SWEEP).isPositive();

        long now = System.nanoTime();
        cache.idle(now + BlockCache.IDLE_SWEEP_NANOS); // the guest halts: what ran last is looked at
        assertThat(cache.size()).isPositive();
        cache.idle(now + BlockCache.IDLE_SWEEP_NANOS + 1); // too soon for another sweep
        assertThat(cache.size()).isPositive();
        cache.idle(now + 2 * BlockCache.IDLE_SWEEP_NANOS); // nothing ran since: all goes but the block it is in
        assertThat(cache.size()).isEqualTo(1);
    }

    @Test
    void callsAndReturns() {
        // call f; syscall; f: mov eax, 7; ret
        Run r = run("E8 02000000 0F05 B8 07000000 C3");
        assertThat(r.cpu().r[Cpu.RAX]).isEqualTo(7);
        assertThat(r.cpu().r[Cpu.RSP]).isEqualTo(STACK_TOP);
    }

    @Test
    void undefinedOpcodeRaisesUd() {
        Run r = run("90 0F0B");
        assertThat(r.fault().vector()).isEqualTo(CpuFault.UD);
        assertThat(r.cpu().rip).isEqualTo(CODE + 1);
    }

    @Test
    void divideByZeroRaisesDe() {
        // xor ecx,ecx; div rcx
        Run r = run("31C9 48F7F1");
        assertThat(r.fault().vector()).isEqualTo(CpuFault.DE);
        assertThat(r.cpu().rip).isEqualTo(CODE + 2);
    }

    @Test
    void selfModifyingCodeIsSeen() {
        // lea rbx,[rip+patch]; mov byte [rbx+1], 9; patch: mov eax, 1 (imm patched to 9); syscall
        // 48 8D 1D 03 00 00 00 ; C6 43 01 09 ; B8 01 00 00 00 ; 0F 05
        Run r = run("488D1D04000000 C6430109 B801000000 0F05");
        assertThat(r.cpu().r[Cpu.RAX]).isEqualTo(9);
    }

    /** Faults are precise: a read-modify-write whose store faults leaves the flags (and memory) alone. */
    @Test
    void faultingReadModifyWriteLeavesFlagsUntouched() {
        // stc; adc dword [0x9000], eax  (the page is readable, not writable)
        Run adc = run("F9 11042500900000");
        assertThat(adc.fault().vector()).isEqualTo(CpuFault.PF);
        assertThat(adc.cpu().rip).isEqualTo(CODE + 1);
        assertThat(adc.cpu().rflags() & Flags.ARITH).as("CF from STC, nothing from ADC").isEqualTo(Flags.CF);
        // stc; rcl dword [0x9000], 1
        Run rcl = run("F9 D11425009000 00");
        assertThat(rcl.fault().vector()).isEqualTo(CpuFault.PF);
        assertThat(rcl.cpu().rflags() & Flags.ARITH).isEqualTo(Flags.CF);
        // cmp only reads: no fault
        Run cmp = run("F9 39042500900000 0F05");
        assertThat(cmp.fault()).isNull();
    }
}
