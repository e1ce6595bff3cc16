package dev.hako.soft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.x86.X86CpuState;
import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.InterruptDelivery;
import dev.hako.soft.exec.Interpreter;
import dev.hako.soft.mmu.Mmu;
import dev.hako.soft.mmu.PageTableWalker;
import dev.hako.soft.translate.BlockBuilder;
import dev.hako.testkit.TinyGuest;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Two processes with different code at the same linear addresses, as two non-PIE programs have (both at
 * 0x401000): a tiny kernel switches CR3 between their address spaces and SYSRETs into each in turn; each
 * must run its own code every time, interpreted and translated. Each process's user code:
 *
 * <pre>
 *   0x400000 (own page)    add r8, 1 (process A) / add r9, 1 (B); jmp 0x402ffe
 *   0x402ffe (shared page) mov eax, imm32: its opcode and first byte here, three bytes on the next page
 *   0x403000 (own page)    imm32's last three bytes (A: 1 0 0, B: 2 0 0)
 *   0x403003 (own page)    add r10, rax (A) / add rbx, rax (B); syscall
 * </pre>
 *
 * so a block decoded for one process may be reused by the other neither by its first page (0x400000) nor,
 * when the first page is shared, by the page its last instruction reaches into (0x403000).
 */
class AddressSpacesTest {
    private static final int ROUNDS = 40;
    private static final long GDT = 0x4000, KERNEL = 0x10000, KERNEL_ENTRY = KERNEL, KERNEL_TO_USER = KERNEL + 0x17;
    /** Page tables of process A and B (PML4, PDPT, PD, PT, one page each). */
    private static final long TABLES_A = 0x20000, TABLES_B = 0x30000;
    /** Physical pages: each process's own page at 0x400000 and at 0x403000, and the shared one at 0x402000. */
    private static final long A_CODE = 0x100000, A_TAIL = 0x101000, B_CODE = 0x102000, B_TAIL = 0x103000,
            SHARED = 0x104000;
    private static final long USER = 0x7; // P | RW | US

    private final TinyGuest guest = TinyGuest.withRam(4 << 20);

    /** PML4, PDPT, PD at {@code tables}; the kernel's first 2 MiB supervisor-only, the user pages at 4 MiB. */
    private void addressSpace(long tables, long code, long tail) {
        long pml4 = tables, pdpt = tables + 0x1000, pd = tables + 0x2000, pt = tables + 0x3000;
        guest.put64(pml4, pdpt | USER);
        guest.put64(pdpt, pd | USER);
        guest.put64(pd, TinyGuest.LARGE_PAGE); // 0-2 MiB: the kernel, identity mapped
        guest.put64(pd + 2 * 8, pt | USER); // 4-6 MiB: the process
        guest.put64(pt, code | USER);
        guest.put64(pt + 2 * 8, SHARED | USER);
        guest.put64(pt + 3 * 8, tail | USER);
    }

    private X86CpuState twoProcesses() {
        // Kernel (SYSCALL entry): after A switch to B; after B count a round and switch to A, or stop.
        //   entry:  mov rax,cr3; cmp rax,r13; je toB; dec r12; jz done; mov cr3,r13; jmp toUser
        //   toB:    mov cr3,r14
        //   toUser: mov ecx,0x400000; mov r11d,2; sysretq
        //   done:   hlt
        guest.code(KERNEL, "0F20D8 4C39E8 740B 49FFCC 7418 410F22DD EB04 410F22DE B900004000 41BB02000000"
                + " 480F07 F4");
        addressSpace(TABLES_A, A_CODE, A_TAIL);
        addressSpace(TABLES_B, B_CODE, B_TAIL);
        guest.code(A_CODE, "4983C001 E9F52F0000");
        guest.code(B_CODE, "4983C101 E9F52F0000");
        guest.code(SHARED + 0xFFE, "B8 00");
        guest.code(A_TAIL, "010000 4901C2 0F05");
        guest.code(B_TAIL, "020000 4801C3 0F05");
        guest.descriptor(GDT, 0x08, TinyGuest.CODE64);
        guest.descriptor(GDT, 0x10, TinyGuest.DATA);
        X86CpuState s = TinyGuest.longMode(TABLES_A, GDT, 23, 0, 0, 0x08, 0x10);
        s.efer |= 1; // SCE
        s.star = (0x23L << 48) | (0x08L << 32);
        s.lstar = KERNEL_ENTRY;
        s.rip = KERNEL_TO_USER;
        s.gpr[12] = ROUNDS;
        s.gpr[13] = TABLES_A;
        s.gpr[14] = TABLES_B;
        return s;
    }

    @ParameterizedTest(name = "translate={0} threshold={1}")
    @CsvSource({"false, 0", "true, 1", "true, 8"})
    void eachProcessRunsItsOwnCodeAtTheSameAddresses(boolean translate, int threshold) {
        Mmu mmu = new Mmu(guest.ram(), null);
        Cpu cpu = new Cpu(mmu);
        mmu.setWalker(new PageTableWalker(guest.ram(), cpu.sys.cr, cpu.fault));
        Interpreter interpreter = new Interpreter(cpu, (c, fault, in) -> InterruptDelivery.exception(c, fault),
                new BlockBuilder(translate, threshold));
        CpuStateTransfer.load(cpu, twoProcesses());
        interpreter.flushCode();

        Interpreter.Exit exit = interpreter.run();

        assertThat(exit).as("the kernel's HLT after %d rounds (a fault ends in a triple fault)", ROUNDS)
                .isEqualTo(Interpreter.Exit.HALTED);
        assertThat(cpu.r[8]).as("process A's first page ran in every round, and only A's").isEqualTo(ROUNDS);
        assertThat(cpu.r[9]).as("process B's first page ran in every round, and only B's").isEqualTo(ROUNDS);
        assertThat(cpu.r[10]).as("A's immediate and A's tail").isEqualTo(ROUNDS * 0x100L);
        assertThat(cpu.r[Cpu.RBX]).as("B's immediate and B's tail").isEqualTo(ROUNDS * 0x200L);
    }
}
