package dev.hako.soft.oracle;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.oracle.ForkedOracle.Case;
import dev.hako.soft.oracle.ForkedOracle.Outcome;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which fault an instruction raises first, and the state it leaves, against the host CPU ({@link ForkedOracle}):
 * a non-canonical stack reference is #SS(0), not #GP(0) (SDM vol. 3 §6.15); a near branch to a non-canonical
 * target raises #GP(0) at the branch with RIP and RSP unchanged; ENTER and LEAVE leave RSP and RBP unchanged
 * when an access faults (ENTER also write-checks its final stack pointer); far RET, IRET and segment loads make
 * the descriptor checks against Linux's GDT; TF traps after the instruction that follows the POPF setting it.
 * Each case runs interpreted and translated.
 */
class FaultOrderDifferentialTest {
    private static final long NC = 0x8000_0000_0000_0000L;
    private static final long D = ForkedOracle.DATA, CODE = ForkedOracle.CODE;
    private static final long STACK = D + 0x1000;
    /** CF, PF, ZF, SF, DF and OF. */
    private static final long COMPARED_FLAGS = 0x0CC5;

    @TempDir
    Path dir;

    /** The data pages: a non-canonical qword at +0x1000, far return and IRET frames, far pointers. */
    private static byte[] data() {
        ByteBuffer b = ByteBuffer.allocate(ForkedOracle.DATA_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0x1000, NC);
        b.putLong(0x1100, CODE + 0x40).putLong(0x1108, 0x18);   // far return to kernel data: #GP(0x18)
        b.putLong(0x1200, CODE + 0x40).putLong(0x1208, 0x1234); // selector beyond the GDT: #GP(0x1230)
        b.putLong(0x1300, CODE + 0x40).putLong(0x1308, 0x33);   // far return to user code: taken
        iretFrame(b, 0x1400, CODE + 0x40, 0x33, 0x203, D + 0x2000, 0x2b); // taken, CF set
        iretFrame(b, 0x1500, NC, 0x33, 0x202, D + 0x2000, 0x2b);
        iretFrame(b, 0x1600, CODE + 0x40, 0x18, 0x202, D + 0x2000, 0x2b);
        iretFrame(b, 0x1700, CODE + 0x40, 0x33, 0x202, D + 0x2000, 0x33); // SS a code segment
        b.putInt(0x1800, 0x1234_5678).putShort(0x1804, (short) 0x2b); // far pointers for LSS
        b.putInt(0x1810, 0x1234_5678).putShort(0x1814, (short) 0x18);
        b.putLong(0x1900, 0x1122_3344_5566_7788L).putLong(0x1908, 0x99AA_BBCC_DDEE_FF00L);
        b.putLong(0x1A00, 0x303).putLong(0x1A08, 0x202); // RFLAGS for POPF: TF and CF set, then TF clear
        return b.array();
    }

    private static void iretFrame(ByteBuffer b, int at, long rip, long cs, long rflags, long rsp, long ss) {
        b.putLong(at, rip).putLong(at + 8, cs).putLong(at + 16, rflags).putLong(at + 24, rsp).putLong(at + 32, ss);
    }

    /** A case: its name, code in hex, then "reg=value" settings (RSP defaults to the middle of the data). */
    private static Case c(String name, String hex, Object... settings) {
        long[] regs = new long[16];
        regs[Cpu.RSP] = STACK;
        for (int k = 0; k < settings.length; k += 2) {
            int reg = List.of(MachineState.GPR_NAMES).indexOf((String) settings[k]);
            regs[reg] = ((Number) settings[k + 1]).longValue();
        }
        return new Case(name, HexFormat.of().parseHex(hex.replace(" ", "")), regs);
    }

    private static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        // #SS for references through SS: RSP or RBP as the base, or the stack operations.
        cases.add(c("mov eax,[rbp] non-canonical", "8b 45 00", "rbp", NC));
        cases.add(c("mov eax,[rsp+rax*2]", "8b 04 44", "rsp", NC, "rax", 2));
        cases.add(c("ds: mov eax,[rbp] (the override is ignored)", "3e 8b 45 00", "rbp", NC));
        cases.add(c("fs: mov eax,[rbp]", "64 8b 45 00", "rbp", NC));
        cases.add(c("mov eax,[rax] non-canonical", "8b 00", "rax", NC));
        cases.add(c("ss: mov eax,[rax] (the override is ignored)", "36 8b 00", "rax", NC));
        cases.add(c("mov eax,[rax+rbp]: RBP as an index", "8b 04 28", "rbp", NC));
        cases.add(c("push rax, RSP non-canonical", "50", "rsp", NC));
        cases.add(c("pop rax, RSP non-canonical", "58", "rsp", NC));
        cases.add(c("push [rax], RAX non-canonical", "ff 30", "rax", NC));
        cases.add(c("push [rax], RSP non-canonical", "ff 30", "rax", D, "rsp", NC));
        cases.add(c("pop [rax], RAX non-canonical", "8f 00", "rax", NC));
        cases.add(c("call rax, RSP non-canonical", "ff d0", "rax", CODE, "rsp", NC));
        cases.add(c("ret, RSP non-canonical", "c3", "rsp", NC));
        cases.add(c("pushf, RSP non-canonical", "9c", "rsp", NC));
        // Near branches to a non-canonical target fault at the branch.
        cases.add(c("ret to a non-canonical address", "c3"));
        cases.add(c("ret 16 to a non-canonical address", "c2 10 00"));
        cases.add(c("jmp rax", "ff e0", "rax", NC));
        cases.add(c("call rax", "ff d0", "rax", NC));
        cases.add(c("jmp [rax]", "ff 20", "rax", STACK));
        cases.add(c("call [rax]", "ff 10", "rax", STACK));
        // ENTER and LEAVE: all or nothing.
        cases.add(c("leave, RBP unmapped", "c9", "rbp", 0x40));
        cases.add(c("leave, RBP non-canonical", "c9", "rbp", NC));
        cases.add(c("leave", "c9", "rbp", D + 0x1900));
        cases.add(c("enter, its push faults", "c8 10 00 00", "rsp", D, "rbp", 0x55));
        cases.add(c("enter level 3, the frame copy faults", "c8 10 00 03", "rbp", 0x48));
        cases.add(c("enter level 3, RBP non-canonical", "c8 10 00 03", "rbp", NC));
        cases.add(c("enter, the final RSP unmapped", "c8 00 01 00", "rsp", D + 0x20, "rbp", 0x55));
        cases.add(c("enter level 2", "c8 20 00 02", "rbp", D + 0x1910));
        // Far RET, IRET and segment loads against Linux's GDT.
        cases.add(c("lret to kernel data", "48 cb", "rsp", D + 0x1100));
        cases.add(c("lret beyond the GDT", "48 cb", "rsp", D + 0x1200));
        cases.add(c("lret to user code", "48 cb", "rsp", D + 0x1300));
        cases.add(c("lret 32-bit, beyond the GDT", "cb", "rsp", D + 0x1208));
        cases.add(c("iretq", "48 cf", "rsp", D + 0x1400));
        cases.add(c("iretq to a non-canonical RIP", "48 cf", "rsp", D + 0x1500));
        cases.add(c("iretq to kernel data", "48 cf", "rsp", D + 0x1600));
        cases.add(c("iretq with a code segment as SS", "48 cf", "rsp", D + 0x1700));
        cases.add(c("iret (32-bit) to random selectors", "cf", "rsp", D + 0x1900));
        cases.add(c("mov ds,eax: kernel data", "8e d8", "rax", 0x18));
        cases.add(c("mov ds,eax: user data", "8e d8", "rax", 0x2b));
        cases.add(c("mov es,eax: user code (readable)", "8e c0", "rax", 0x33));
        cases.add(c("mov ss,eax: user code", "8e d0", "rax", 0x33));
        cases.add(c("mov fs,eax: beyond the GDT", "8e e0", "rax", 0x1d4e));
        cases.add(c("mov gs,eax: an LDT selector", "8e e8", "rax", 0x2f));
        cases.add(c("mov rax,cs; mov rbx,ss", "48 8c c8 48 8c d3"));
        cases.add(c("lss eax,[rax]: user data", "0f b2 00", "rax", D + 0x1800));
        cases.add(c("lss eax,[rax]: kernel data", "0f b2 00", "rax", D + 0x1810));
        cases.add(c("lfs eax,[rax]: unmapped", "0f b4 00", "rax", 0x40));
        // The trap flag: a single-step #DB after each instruction that starts with TF set and completes.
        cases.add(c("popf setting TF, nop", "9d 90 90", "rsp", D + 0x1A00));
        cases.add(c("popf setting TF, then a faulting load", "9d 8b 00 90", "rsp", D + 0x1A00, "rax", 0x40));
        cases.add(c("popf setting TF, popf clearing it", "9d 9d 90 90", "rsp", D + 0x1A00));
        cases.add(c("popf setting TF, push", "9d 50 90", "rsp", D + 0x1A00));
        return cases;
    }

    @TestFactory
    Stream<DynamicTest> faultsAsTheHostDoes() throws Exception {
        Assumptions.assumeTrue(HostOracle.available(), HostOracle.UNAVAILABLE);
        List<Case> cases = cases();
        byte[] data = data();
        List<Outcome> natives = ForkedOracle.runNatively(dir, data, cases);
        List<DynamicTest> tests = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            Outcome host = natives.get(i);
            for (boolean translated : new boolean[] {false, true}) {
                tests.add(DynamicTest.dynamicTest(c + (translated ? " translated" : " interpreted"), () -> {
                    Outcome soft = ForkedOracle.runSoft(data, c, translated);
                    assertThat(differences(host, soft)).as("host %s%nsoft %s", host.describe(), soft.describe())
                            .isEmpty();
                }));
            }
        }
        return tests.stream();
    }

    private static String differences(Outcome host, Outcome soft) {
        StringBuilder d = new StringBuilder();
        if (host.vector() != soft.vector()) {
            d.append("vector ");
        }
        if (host.rip() != soft.rip()) {
            d.append("rip ");
        }
        for (int k = 0; k < 16; k++) {
            if (host.regs()[k] != soft.regs()[k]) {
                d.append(MachineState.GPR_NAMES[k]).append(' ');
            }
        }
        if (((host.rflags() ^ soft.rflags()) & COMPARED_FLAGS) != 0) {
            d.append("rflags ");
        }
        if (host.vector() == dev.hako.soft.fault.CpuFault.PF && host.pageFaultAddress() != soft.pageFaultAddress()) {
            d.append("fault address ");
        }
        return d.toString();
    }
}
