package dev.hako.soft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.accel.IoHandler;
import dev.hako.core.accel.VcpuExit;
import dev.hako.core.memory.GuestMemory;
import dev.hako.core.time.NanoTimeClock;
import dev.hako.core.x86.X86CpuState;
import dev.hako.testkit.OneShotInterrupt;
import dev.hako.testkit.TinyGuest;
import org.junit.jupiter.api.Test;

/**
 * A waiting interrupt is taken exactly where the processor takes it: after the one instruction STI shields
 * ("sti; nop; cli" lets it in), and right after a POPF that sets IF, not at the end of the decoded block.
 * Found by running the same guest on KVM.
 */
class InterruptWindowTest {
    private static final long PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000, GDT = 0x4000, IDT = 0x6000;
    private static final long CODE = 0x10000, HANDLER = 0x11000;

    private final TinyGuest guest = TinyGuest.withRam(4 << 20);

    private X86CpuState run(String program) {
        guest.identityMapFirst2MiB(PML4, PDPT, PD);
        guest.descriptor(GDT, 0x08, TinyGuest.CODE64);
        guest.descriptor(GDT, 0x10, TinyGuest.DATA);
        guest.interruptGate(IDT, 0x20, 0x08, HANDLER);
        guest.code(CODE, program);
        guest.code(HANDLER, "49FFC6 4D89DF 48CF"); // inc r14; mov r15,r11; iretq
        SoftVirtualCpu vcpu = (SoftVirtualCpu) new SoftAccelerator()
                .createVm(new GuestMemory(guest.ram()), new NanoTimeClock())
                .createVcpu(0, IoHandler.NONE, new OneShotInterrupt(0x20));
        X86CpuState s = TinyGuest.longMode(PML4, GDT, 23, IDT, 0x20 * 16 + 15, 0x08, 0x10);
        s.gpr[4] = 0x8000;
        s.rip = CODE;
        vcpu.load(s);
        assertThat(vcpu.run()).isEqualTo(VcpuExit.HALTED);
        return vcpu.state();
    }

    @Test
    void stiLetsAWaitingInterruptInAfterTheShieldedInstruction() {
        // sti; mov r12,2; mov r11,3; cli; hlt
        X86CpuState s = run("FB 49C7C402000000 49C7C303000000 FA F4");
        assertThat(s.gpr[14]).as("the interrupt was taken").isEqualTo(1);
        assertThat(s.gpr[15]).as("R11 when the handler ran: before MOV R11").isZero();
        assertThat(s.gpr[12]).isEqualTo(2);
    }

    @Test
    void popfSettingIfTakesAWaitingInterruptAfterIt() {
        // push 0x202; popf; mov r11,3; cli; hlt
        X86CpuState s = run("6802020000 9D 49C7C303000000 FA F4");
        assertThat(s.gpr[14]).as("the interrupt was taken").isEqualTo(1);
        assertThat(s.gpr[15]).as("R11 when the handler ran: before MOV R11").isZero();
    }
}
