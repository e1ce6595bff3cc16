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

/** Software interrupts and exceptions through the real-mode IVT and the 32-bit protected-mode IDT, and IRET. */
class LegacyInterruptsTest {
    private static final long GDT = 0x4000, IDT = 0x5000, REAL = 0x10000, PM32 = 0x10100;

    private final TinyGuest guest = TinyGuest.withRam(4 << 20);

    private static String le32(long v) {
        return String.format("%02x%02x%02x%02x", v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, (v >> 24) & 0xFF);
    }

    private SoftVirtualCpu vcpu() {
        SoftVirtualCpu vcpu = (SoftVirtualCpu) new SoftAccelerator()
                .createVm(new GuestMemory(guest.ram()), new NanoTimeClock())
                .createVcpu(0, IoHandler.NONE, LocalInterrupts.NONE);
        vcpu.load(TinyGuest.realMode(REAL, X86CpuState.CS));
        return vcpu;
    }

    @Test
    void realModeIntGoesThroughTheIvtAndIretComesBack() {
        guest.ram().set(ValueLayout.JAVA_INT_UNALIGNED, 0x21 * 4, 0x1000_0100); // CS 0x1000, IP 0x0100
        // cli; mov ax,cs; mov ss,ax; mov sp,0x8000; int 0x21; mov bx,0x5678; hlt
        guest.code(REAL, "FA 8CC8 8ED0 BC0080 CD21 BB7856 F4");
        guest.code(REAL + 0x100, "BE2143 CF"); // mov si,0x4321; iret
        SoftVirtualCpu vcpu = vcpu();

        VcpuExit exit = vcpu.run();

        X86CpuState s = vcpu.state();
        assertThat(exit).isEqualTo(VcpuExit.HALTED);
        assertThat(s.gpr[6] & 0xFFFF).as("SI from the handler").isEqualTo(0x4321);
        assertThat(s.gpr[3] & 0xFFFF).as("BX after the return").isEqualTo(0x5678);
        assertThat(s.gpr[4] & 0xFFFF).as("SP back where it was").isEqualTo(0x8000);
        assertThat(s.selector[X86CpuState.CS]).isEqualTo(0x1000);
    }

    @Test
    void protectedModeExceptionAndSoftwareInterruptThroughTheIdt() {
        guest.descriptor(GDT, 0x08, TinyGuest.CODE32_UNACCESSED);
        guest.descriptor(GDT, 0x10, TinyGuest.DATA_UNACCESSED);
        guest.ram().set(ValueLayout.JAVA_SHORT_UNALIGNED, REAL + 0x80, (short) 23);
        guest.ram().set(ValueLayout.JAVA_INT_UNALIGNED, REAL + 0x82, (int) GDT);
        guest.ram().set(ValueLayout.JAVA_SHORT_UNALIGNED, REAL + 0x90, (short) (0x30 * 8 + 7));
        guest.ram().set(ValueLayout.JAVA_INT_UNALIGNED, REAL + 0x92, (int) IDT);
        long udHandler = PM32 + 0x80, intHandler = PM32 + 0xA0;
        for (long[] gate : new long[][] {{6, udHandler}, {0x30, intHandler}}) {
            long h = gate[1];
            guest.put64(IDT + gate[0] * 8, (h & 0xFFFF) | (0x08L << 16) | (0x8EL << 40) | ((h >>> 16) << 48));
        }
        // cli; mov ax,cs; mov ds,ax; lgdtl [0x80]; lidtl [0x90]; mov eax,1; mov cr0,eax; ljmpl 0x08:PM32
        guest.code(REAL, "FA 8CC8 8ED8 660F01168000 660F011E9000 66B801000000 0F22C0 66EA" + le32(PM32) + "0800");
        // mov eax,0x10; mov ds,ax; mov ss,ax; mov esp,0x19000; ud2; mov ebx,0x1111; int 0x30; hlt
        guest.code(PM32, "B810000000 8ED8 8ED0 BC00900100 0F0B BB11110000 CD30 F4");
        guest.code(udHandler, "83042402 CF");   // add dword [esp],2 (skip the UD2); iretd
        guest.code(intHandler, "BFCDAB0000 CF"); // mov edi,0xABCD; iretd
        SoftVirtualCpu vcpu = vcpu();

        VcpuExit exit = vcpu.run();

        X86CpuState s = vcpu.state();
        assertThat(exit).as(() -> "rip " + Long.toHexString(s.rip)).isEqualTo(VcpuExit.HALTED);
        assertThat(s.gpr[3] & 0xFFFFFFFFL).as("EBX: execution went on after the #UD handler").isEqualTo(0x1111);
        assertThat(s.gpr[7] & 0xFFFFFFFFL).as("EDI from the INT 0x30 handler").isEqualTo(0xABCD);
        assertThat(s.gpr[4] & 0xFFFFFFFFL).as("ESP after both IRETs").isEqualTo(0x19000);
        assertThat(vcpu.cpu().mode).isEqualTo(32);
    }
}
