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
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * A waiting interrupt is taken exactly where the processor takes it: after the one instruction STI shields
 * ("sti; nop; cli" lets it in), and right after a POPF that sets IF, not at the end of the decoded block.
 * Found by running the same guest on KVM.
 */
class InterruptWindowTest {
    private static final long PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000, GDT = 0x4000, IDT = 0x6000;
    private static final long CODE = 0x10000, HANDLER = 0x11000;

    private final MemorySegment ram = Arena.ofAuto().allocate(4 << 20, 4096);

    private void put64(long gpa, long v) {
        ram.set(ValueLayout.JAVA_LONG_UNALIGNED, gpa, v);
    }

    private void code(long gpa, String hex) {
        byte[] b = HexFormat.of().parseHex(hex.replace(" ", ""));
        MemorySegment.copy(MemorySegment.ofArray(b), 0, ram, gpa, b.length);
    }

    private X86CpuState run(String program) {
        put64(PML4, PDPT | 3);
        put64(PDPT, PD | 3);
        put64(PD, 0x83);
        put64(GDT + 8, 0x00AF9B000000FFFFL);
        put64(GDT + 16, 0x00CF93000000FFFFL);
        long gate = (HANDLER & 0xFFFF) | (0x08L << 16) | (0x8EL << 40) | (((HANDLER >>> 16) & 0xFFFF) << 48);
        put64(IDT + 0x20 * 16, gate);
        code(CODE, program);
        code(HANDLER, "49FFC6 4D89DF 48CF"); // inc r14; mov r15,r11; iretq
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
        SoftVirtualCpu vcpu = (SoftVirtualCpu) new SoftAccelerator().createVm(new GuestMemory(ram), new NanoTimeClock())
                .createVcpu(0, IoHandler.NONE, apic);
        X86CpuState s = new X86CpuState();
        s.cr0 = 0x80050033L;
        s.cr3 = PML4;
        s.cr4 = 0x20;
        s.efer = 0x500;
        s.gdtBase = GDT;
        s.gdtLimit = 23;
        s.idtBase = IDT;
        s.idtLimit = 0x20 * 16 + 15;
        s.selector[X86CpuState.CS] = 0x08;
        s.segmentAttributes[X86CpuState.CS] = 0xA09B;
        for (int seg : new int[] {X86CpuState.DS, X86CpuState.ES, X86CpuState.SS}) {
            s.selector[seg] = 0x10;
            s.segmentAttributes[seg] = 0xC093;
        }
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
