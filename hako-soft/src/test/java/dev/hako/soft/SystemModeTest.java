package dev.hako.soft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.accel.IoHandler;
import dev.hako.core.accel.LocalInterrupts;
import dev.hako.core.accel.VcpuExit;
import dev.hako.core.memory.GuestMemory;
import dev.hako.core.time.NanoTimeClock;
import dev.hako.core.x86.X86CpuState;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A tiny long-mode guest on the soft accelerator: page tables, GDT, TSS and IDT built here, then a trap
 * (INT3), a page fault the handler repairs, port output, and an external interrupt that wakes HLT.
 */
class SystemModeTest {
    private static final long PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000, GDT = 0x4000, TSS = 0x5000, IDT = 0x6000;
    private static final long CODE = 0x10000, INT3_HANDLER = 0x11000, PF_HANDLER = 0x11100, IRQ_HANDLER = 0x11200;
    private static final long MARKER = 0x1122334455667788L;

    private final MemorySegment ram = Arena.ofAuto().allocate(4 << 20, 4096);

    private void put64(long gpa, long v) {
        ram.set(ValueLayout.JAVA_LONG_UNALIGNED, gpa, v);
    }

    private void code(long gpa, String hex) {
        byte[] b = HexFormat.of().parseHex(hex.replace(" ", ""));
        MemorySegment.copy(MemorySegment.ofArray(b), 0, ram, gpa, b.length);
    }

    private void gate(int vector, long handler) {
        long lo = (handler & 0xFFFF) | (0x08L << 16) | (0x8EL << 40) | (((handler >>> 16) & 0xFFFF) << 48);
        put64(IDT + vector * 16L, lo);
        put64(IDT + vector * 16L + 8, handler >>> 32);
    }

    private X86CpuState longModeState() {
        put64(PML4, PDPT | 3);
        put64(PDPT, PD | 3);
        put64(PD, 0x83); // 2 MiB identity page at 0; PD[1] (2-4 MiB) left not present
        put64(GDT + 8, 0x00AF9B000000FFFFL);
        put64(GDT + 16, 0x00CF93000000FFFFL);
        long tssDescriptor = 0x67 | ((TSS & 0xFFFFFF) << 16) | (0x89L << 40);
        put64(GDT + 40, tssDescriptor);
        put64(TSS + 4, 0x9000); // RSP0
        gate(3, INT3_HANDLER);
        gate(14, PF_HANDLER);
        gate(0x20, IRQ_HANDLER);
        X86CpuState s = new X86CpuState();
        s.cr0 = 0x80050033L;
        s.cr3 = PML4;
        s.cr4 = 0x20;
        s.efer = 0x500;
        s.gdtBase = GDT;
        s.gdtLimit = 47;
        s.idtBase = IDT;
        s.idtLimit = 0x20 * 16 + 15;
        s.trSelector = 0x28;
        s.trBase = TSS;
        s.trLimit = 0x67;
        s.selector[X86CpuState.CS] = 0x08;
        s.segmentAttributes[X86CpuState.CS] = 0xA09B;
        for (int seg : new int[] {X86CpuState.DS, X86CpuState.ES, X86CpuState.SS}) {
            s.selector[seg] = 0x10;
            s.segmentAttributes[seg] = 0xC093;
        }
        s.gpr[4] = 0x8000;
        s.rip = CODE;
        return s;
    }

    @Test
    void trapsFaultsPortOutputAndInterruptsInLongMode() {
        // int3; mov rax,[0x300000]; out 0x80,al; sti; hlt; cli; hlt
        code(CODE, "CC 488B042500003000 E680 FB F4 FA F4");
        code(INT3_HANDLER, "49FFC7 48CF"); // inc r15; iretq
        // mov rbx,cr2; mov qword [0x3008], 0x200083; add rsp,8; iretq
        code(PF_HANDLER, "0F20D3 48C7042508300000 83002000 4883C408 48CF");
        code(IRQ_HANDLER, "49FFC6 48CF"); // inc r14; iretq
        put64(0x300000, MARKER);

        List<String> io = new ArrayList<>();
        IoHandler bus = new IoHandler() {
            @Override
            public long pioRead(int vcpu, int port, int size) {
                return -1;
            }

            @Override
            public void pioWrite(int vcpu, int port, int size, long value) {
                io.add(String.format("out %#x,%#x/%d", port, value, size));
            }

            @Override
            public long mmioRead(int vcpu, long gpa, int size) {
                return -1;
            }

            @Override
            public void mmioWrite(int vcpu, long gpa, int size, long value) { }
        };
        boolean[] armed = {true};
        LocalInterrupts apic = new LocalInterrupts() {
            @Override
            public int pendingVector() {
                return armed[0] ? 0x20 : -1;
            }

            @Override
            public int acknowledge() {
                armed[0] = false;
                return 0x20;
            }
        };
        SoftVirtualCpu vcpu = (SoftVirtualCpu) new SoftAccelerator().createVm(new GuestMemory(ram), new NanoTimeClock()).createVcpu(0, bus, apic);
        vcpu.load(longModeState());

        VcpuExit exit = vcpu.run();

        X86CpuState s = vcpu.state();
        assertThat(exit).isEqualTo(VcpuExit.HALTED);
        assertThat(s.gpr[15]).as("INT3 handler ran once").isEqualTo(1);
        assertThat(s.gpr[3]).as("CR2 in the #PF handler").isEqualTo(0x300000);
        assertThat(s.gpr[0]).as("the load retried after the handler mapped the page").isEqualTo(MARKER);
        assertThat(io).containsExactly("out 0x80,0x88/1");
        assertThat(s.gpr[14]).as("the external interrupt woke HLT").isEqualTo(1);
        assertThat(s.rip).as("after the final HLT").isEqualTo(CODE + 15);
        assertThat(s.gpr[4]).as("every handler returned its frame").isEqualTo(0x8000);
        assertThat(ram.get(ValueLayout.JAVA_LONG, PD + 8) & 0x20).as("accessed bit set by the walk").isEqualTo(0x20);
    }
}
