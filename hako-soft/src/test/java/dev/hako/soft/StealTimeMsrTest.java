package dev.hako.soft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.accel.VcpuExit;
import dev.hako.core.memory.GuestMemory;
import dev.hako.core.time.NanoTimeClock;
import dev.hako.core.x86.X86CpuState;
import dev.hako.testkit.OneShotInterrupt;
import dev.hako.testkit.RecordingIoHandler;
import dev.hako.testkit.TinyGuest;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * KVM's paravirtual steal time on the soft CPU, as a guest sees it: the CPUID signature and feature leaves, the
 * MSR enabling its struct, and the struct's steal count and version as the vCPU's thread adds stolen time; the MSR
 * is part of the vCPU's saved state, so a vCPU restored from it goes on reporting into the same struct.
 */
class StealTimeMsrTest {
    private static final long PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000, GDT = 0x4000, IDT = 0x6000,
            STRUCT = 0x7000, CODE = 0x10000;

    private final TinyGuest guest = TinyGuest.withRam(4 << 20);

    @Test
    void theGuestFindsKvmStealTimeEnablesItAndReadsWhatItWasDenied() {
        guest.identityMapFirst2MiB(PML4, PDPT, PD);
        guest.descriptor(GDT, 0x08, TinyGuest.CODE64);
        guest.descriptor(GDT, 0x10, TinyGuest.DATA);
        guest.code(CODE, String.join(" ",
                "FA", // cli
                "B800000040 0FA2", // mov eax, 0x40000000; cpuid
                "4989D8 4989C9 4989D2 4989C3", // r8 = rbx, r9 = rcx, r10 = rdx, r11 = rax
                "B801000040 0FA2 4989C4", // mov eax, 0x40000001; cpuid; r12 = rax
                "B9034D564B B801700000 31D2 0F30", // wrmsr MSR_KVM_STEAL_TIME, STRUCT | enabled
                "F4")); // hlt
        X86CpuState start = TinyGuest.longMode(PML4, GDT, 23, IDT, 0, 0x08, 0x10);
        start.rip = CODE;
        start.gpr[4] = 0x8000;
        SoftVirtualCpu vcpu = (SoftVirtualCpu) new SoftAccelerator()
                .createVm(new GuestMemory(guest.ram()), new NanoTimeClock())
                .createVcpu(0, RecordingIoHandler.withEmptyBuses(), new OneShotInterrupt(0x20));
        vcpu.load(start);
        vcpu.addStealTime(1_000); // before the guest enabled it: nowhere to go
        assertThat(guest.get64(STRUCT)).isZero();

        assertThat(vcpu.run()).isEqualTo(VcpuExit.HALTED);
        X86CpuState s = vcpu.state();
        String signature = ascii(s.gpr[8]) + ascii(s.gpr[9]) + ascii(s.gpr[10]);
        assertThat(signature).isEqualTo("KVMKVMKVM\0\0\0");
        assertThat(s.gpr[12]).as("features: steal time only").isEqualTo(1 << 5);

        vcpu.addStealTime(5_000);
        assertThat(guest.get64(STRUCT)).isEqualTo(5_000);
        assertThat(version()).isEqualTo(2);
        guest.ram().set(ValueLayout.JAVA_INT_UNALIGNED, STRUCT + 8, 7); // a guest's junk, odd
        vcpu.addStealTime(7);
        assertThat(guest.get64(STRUCT)).isEqualTo(5_007);
        assertThat(version()).as("even again, past the odd junk").isEqualTo(10);

        assertThat(vcpu.save().cpu().kvmStealTime).isEqualTo(STRUCT | 1);
        SoftVirtualCpu restored = (SoftVirtualCpu) new SoftAccelerator()
                .createVm(new GuestMemory(guest.ram()), new NanoTimeClock())
                .createVcpu(0, RecordingIoHandler.withEmptyBuses(), new OneShotInterrupt(0x20));
        restored.restore(vcpu.save());
        restored.addStealTime(3);
        assertThat(guest.get64(STRUCT)).as("the restored vCPU reports into the same struct").isEqualTo(5_010);
    }

    private int version() {
        return guest.ram().get(ValueLayout.JAVA_INT_UNALIGNED, STRUCT + 8);
    }

    private static String ascii(long register) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 4; i++) {
            b.append((char) ((register >> (8 * i)) & 0xFF));
        }
        return b.toString();
    }
}
