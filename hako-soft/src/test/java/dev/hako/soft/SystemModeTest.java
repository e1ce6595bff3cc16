package dev.hako.soft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.accel.VcpuExit;
import dev.hako.core.memory.GuestMemory;
import dev.hako.core.time.NanoTimeClock;
import dev.hako.core.x86.X86CpuState;
import dev.hako.testkit.OneShotInterrupt;
import dev.hako.testkit.RecordingIoHandler;
import dev.hako.testkit.TinyGuest;
import org.junit.jupiter.api.Test;

/**
 * A tiny long-mode guest on the soft accelerator: page tables, GDT, TSS and IDT built here, then a trap
 * (INT3), a page fault the handler repairs, port output, and an external interrupt that wakes HLT; and INT1
 * from ring 3, a #DB trap that passes a ring-0 gate where INT 1 takes #GP.
 */
class SystemModeTest {
    private static final long PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000, GDT = 0x4000, TSS = 0x5000, IDT = 0x6000;
    private static final long CODE = 0x10000, INT3_HANDLER = 0x11000, PF_HANDLER = 0x11100, IRQ_HANDLER = 0x11200,
            DB_HANDLER = 0x11300, GP_HANDLER = 0x11400, USER_CODE = 0x12000;
    private static final long USER_CODE64 = 0x00AFFB000000FFFFL, USER_DATA = 0x00CFF3000000FFFFL;
    private static final long MARKER = 0x1122334455667788L;

    private final TinyGuest guest = TinyGuest.withRam(4 << 20);

    private X86CpuState longModeState() {
        guest.identityMapFirst2MiB(PML4, PDPT, PD); // PD[1] (2-4 MiB) left not present
        guest.descriptor(GDT, 0x08, TinyGuest.CODE64);
        guest.descriptor(GDT, 0x10, TinyGuest.DATA);
        guest.tssDescriptor(GDT, 0x28, TSS);
        guest.put64(TSS + 4, 0x9000); // RSP0
        guest.interruptGate(IDT, 3, 0x08, INT3_HANDLER);
        guest.interruptGate(IDT, 14, 0x08, PF_HANDLER);
        guest.interruptGate(IDT, 0x20, 0x08, IRQ_HANDLER);
        X86CpuState s = TinyGuest.longMode(PML4, GDT, 47, IDT, 0x20 * 16 + 15, 0x08, 0x10);
        TinyGuest.loadTaskRegister(s, 0x28, TSS);
        s.gpr[4] = 0x8000;
        s.rip = CODE;
        return s;
    }

    @Test
    void trapsFaultsPortOutputAndInterruptsInLongMode() {
        // int3; mov rax,[0x300000]; out 0x80,al; sti; hlt; cli; hlt
        guest.code(CODE, "CC 488B042500003000 E680 FB F4 FA F4");
        guest.code(INT3_HANDLER, "49FFC7 48CF"); // inc r15; iretq
        // mov rbx,cr2; mov qword [0x3008], 0x200083; add rsp,8; iretq
        guest.code(PF_HANDLER, "0F20D3 48C7042508300000 83002000 4883C408 48CF");
        guest.code(IRQ_HANDLER, "49FFC6 48CF"); // inc r14; iretq
        guest.put64(0x300000, MARKER);

        RecordingIoHandler io = RecordingIoHandler.withEmptyBuses();
        SoftVirtualCpu vcpu = (SoftVirtualCpu) new SoftAccelerator()
                .createVm(new GuestMemory(guest.ram()), new NanoTimeClock())
                .createVcpu(0, io, new OneShotInterrupt(0x20));
        vcpu.load(longModeState());

        VcpuExit exit = vcpu.run();

        X86CpuState s = vcpu.state();
        assertThat(exit).isEqualTo(VcpuExit.HALTED);
        assertThat(s.gpr[15]).as("INT3 handler ran once").isEqualTo(1);
        assertThat(s.gpr[3]).as("CR2 in the #PF handler").isEqualTo(0x300000);
        assertThat(s.gpr[0]).as("the load retried after the handler mapped the page").isEqualTo(MARKER);
        assertThat(io.traffic()).containsExactly("out port 0x80/1 <- 0x88");
        assertThat(s.gpr[14]).as("the external interrupt woke HLT").isEqualTo(1);
        assertThat(s.rip).as("after the final HLT").isEqualTo(CODE + 15);
        assertThat(s.gpr[4]).as("every handler returned its frame").isEqualTo(0x8000);
        assertThat(guest.get64(PD + 8) & 0x20).as("accessed bit set by the walk").isEqualTo(0x20);
    }

    @Test
    void int1FromUserModeIsADebugTrapThatIgnoresTheGateDpl() {
        X86CpuState state = longModeState();
        long user = 7; // present, writable, user at every level
        guest.put64(PML4, PDPT | user);
        guest.put64(PDPT, PD | user);
        guest.put64(PD, TinyGuest.LARGE_PAGE | 4);
        guest.descriptor(GDT, 0x18, USER_CODE64);
        guest.descriptor(GDT, 0x20, USER_DATA);
        guest.interruptGate(IDT, 1, 0x08, DB_HANDLER);
        guest.interruptGate(IDT, 13, 0x08, GP_HANDLER);
        // push 0x23 (SS); push 0x7000 (RSP); push 0x2 (RFLAGS); push 0x1b (CS); push USER_CODE; iretq
        guest.code(CODE, "6A23 6800700000 6A02 6A1B 6800200100 48CF");
        guest.code(USER_CODE, "F1 CD01"); // int1; int 1
        guest.code(DB_HANDLER, "488B0424 488B5C2408 48CF"); // mov rax,[rsp]; mov rbx,[rsp+8]; iretq
        guest.code(GP_HANDLER, "488B0C24 F4"); // mov rcx,[rsp]; hlt
        SoftVirtualCpu vcpu = (SoftVirtualCpu) new SoftAccelerator()
                .createVm(new GuestMemory(guest.ram()), new NanoTimeClock())
                .createVcpu(0, RecordingIoHandler.withEmptyBuses(), dev.hako.core.accel.LocalInterrupts.NONE);
        vcpu.load(state);

        VcpuExit exit = vcpu.run();

        X86CpuState s = vcpu.state();
        assertThat(exit).isEqualTo(VcpuExit.HALTED);
        assertThat(s.gpr[0]).as("#DB is a trap: the return RIP is past INT1").isEqualTo(USER_CODE + 1);
        assertThat(s.gpr[3]).as("taken from ring 3").isEqualTo(0x1B);
        assertThat(s.gpr[1]).as("INT 1 checks the gate's DPL: #GP(IDT vector 1)").isEqualTo(1 * 8 + 2);
    }
}
