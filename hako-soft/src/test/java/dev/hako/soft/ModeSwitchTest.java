package dev.hako.soft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.accel.IoHandler;
import dev.hako.core.accel.LocalInterrupts;
import dev.hako.core.accel.VcpuExit;
import dev.hako.core.memory.GuestMemory;
import dev.hako.core.time.NanoTimeClock;
import dev.hako.core.x86.X86CpuState;
import dev.hako.testkit.TinyGuest;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * The path of Linux's SMP trampoline on the soft CPU: real mode (16-bit call/ret on SS:SP, LGDT), protected
 * mode through a far jump to a 32-bit segment, PAE paging and EFER.LME, then a far jump into 64-bit code.
 */
class ModeSwitchTest {
    private static final long PML4 = 0x1000, GDT = 0x4000, REAL = 0x10000, PM32 = 0x10100, LM64 = 0x10200;

    private final TinyGuest guest = TinyGuest.withRam(4 << 20);

    private static String le32(long v) {
        return String.format("%02x%02x%02x%02x", v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, (v >> 24) & 0xFF);
    }

    @Test
    void realToProtectedToLongMode() {
        guest.identityMapFirst2MiB(PML4, 0x2000, 0x3000);
        guest.descriptor(GDT, 0x08, TinyGuest.CODE32_UNACCESSED);
        guest.descriptor(GDT, 0x10, TinyGuest.DATA_UNACCESSED);
        guest.descriptor(GDT, 0x18, TinyGuest.CODE64_UNACCESSED);
        // GDT pointer at DS:0x80 (linear 0x10080)
        guest.ram().set(ValueLayout.JAVA_SHORT_UNALIGNED, REAL + 0x80, (short) 31);
        guest.ram().set(ValueLayout.JAVA_INT_UNALIGNED, REAL + 0x82, (int) GDT);
        guest.code(REAL, "FA 8CC8 8ED8 8ED0 66BC00800000"  // cli; mov ax,cs; mov ds,ax; mov ss,ax; mov esp,0x8000
                + "E81400"                                 // call sub (offset 0x2A)
                + "660F01168000"                           // lgdtl [0x80]
                + "66B801000000 0F22C0"                    // mov eax,1; mov cr0,eax
                + "66EA" + le32(PM32) + "0800"             // ljmpl 0x08:PM32
                + "90 90"                                  // padding to 0x2A
                + "66BE34120000 C3");                      // sub: mov esi,0x1234; ret
        guest.code(PM32, "B810000000 8ED8 8ED0 BC00900100" // mov eax,0x10; mov ds,ax; mov ss,ax; mov esp,0x19000
                + "0F20E0 0D20000000 0F22E0"               // cr4 |= PAE
                + "B8" + le32(PML4) + "0F22D8"             // cr3 = PML4
                + "B9800000C0 0F32 0D00010000 0F30"        // EFER |= LME
                + "0F20C0 0D00000080 0F22C0"               // cr0 |= PG
                + "EA" + le32(LM64) + "1800");             // ljmp 0x18:LM64
        guest.code(LM64, "48B88877665544332211 F4");       // mov rax, imm64; hlt

        SoftVirtualCpu vcpu = (SoftVirtualCpu) new SoftAccelerator()
                .createVm(new GuestMemory(guest.ram()), new NanoTimeClock())
                .createVcpu(0, IoHandler.NONE, LocalInterrupts.NONE);
        vcpu.load(TinyGuest.realMode(REAL, X86CpuState.CS));

        VcpuExit exit = vcpu.run();

        X86CpuState s = vcpu.state();
        assertThat(exit).as(() -> "exit; rip=" + Long.toHexString(s.rip)).isEqualTo(VcpuExit.HALTED);
        assertThat(s.gpr[6] & 0xFFFFFFFFL).as("ESI from the 16-bit subroutine").isEqualTo(0x1234);
        assertThat(s.gpr[0]).isEqualTo(0x1122334455667788L);
        assertThat(s.selector[X86CpuState.CS]).isEqualTo(0x18);
        assertThat(s.efer & 0x500).as("LME and LMA").isEqualTo(0x500);
        assertThat(s.gpr[4]).isEqualTo(0x19000);
        assertThat(vcpu.cpu().mode).isEqualTo(64);
    }
}
