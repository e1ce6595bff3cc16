package dev.hako.soft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.accel.LocalInterrupts;
import dev.hako.core.accel.VcpuExit;
import dev.hako.core.memory.GuestMemory;
import dev.hako.core.time.NanoTimeClock;
import dev.hako.core.x86.X86CpuState;
import dev.hako.testkit.RecordingIoHandler;
import dev.hako.testkit.TinyGuest;
import org.junit.jupiter.api.Test;

/**
 * 32-bit code under a 64-bit kernel on the soft CPU (SDM vol. 3 §5.8, §6.14): a tiny long-mode guest with
 * Linux's GDT layout (kernel code and data, then user 32-bit code, data and 64-bit code) enters compatibility
 * mode by IRETQ, SYSRETL, SYSEXIT and far returns, and leaves it by INT 0x80, SYSENTER, SYSCALL (CSTAR), a page
 * fault and far transfers. The user code uses encodings that differ between the modes (40 is INC EAX in
 * 32-bit code and a REX prefix in 64-bit code; 9A is a far call only outside 64-bit mode), so each result
 * shows the mode the instructions ran in.
 */
class CompatibilityModeTest {
    private static final long PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000, GDT = 0x4000, TSS = 0x5000, IDT = 0x6000;
    private static final long CODE = 0x10000, INT80_HANDLER = 0x11000, SYSENTER_ENTRY = 0x11100,
            SYSCALL32_ENTRY = 0x11200, PF_HANDLER = 0x11300, USER_CODE = 0x12000;
    private static final int KERNEL_CS = 0x08, KERNEL_DS = 0x10, USER32_CS = 0x1B, USER_DS = 0x23, USER64_CS = 0x2B;
    private static final long USER_CODE32 = 0x00CFFB000000FFFFL, USER_DATA = 0x00CFF3000000FFFFL,
            USER_CODE64 = 0x00AFFB000000FFFFL;
    private static final long RSP0 = 0x9000, USER_STACK = 0x7000;
    /** push 0x23 (SS); push 0x7000 (RSP); push 2 (RFLAGS); push 0x1b (CS); push 0x12000 (RIP); iretq. */
    private static final String IRETQ_TO_USER32 = "6A23 6800700000 6A02 6A1B 6800200100 48CF";
    /** At INT 0x80: rcx, rdx, rsi, rdi take the frame's RIP, CS, RSP and SS; rbp the frame's address; hlt. */
    private static final String RECORD_FRAME = "488B0C24 488B542408 488B742418 488B7C2420 4889E5 F4";

    private final TinyGuest guest = TinyGuest.withRam(4 << 20);

    private X86CpuState longModeWithUserSegments() {
        guest.put64(PML4, PDPT | 7); // present, writable, user at every level; PD[1] (2-4 MiB) not present
        guest.put64(PDPT, PD | 7);
        guest.put64(PD, TinyGuest.LARGE_PAGE | 4);
        guest.descriptor(GDT, KERNEL_CS, TinyGuest.CODE64);
        guest.descriptor(GDT, KERNEL_DS, TinyGuest.DATA);
        guest.descriptor(GDT, USER32_CS & ~3, USER_CODE32);
        guest.descriptor(GDT, USER_DS & ~3, USER_DATA);
        guest.descriptor(GDT, USER64_CS & ~3, USER_CODE64);
        guest.tssDescriptor(GDT, 0x30, TSS);
        guest.put64(TSS + 4, RSP0);
        guest.interruptGate(IDT, 0x80, KERNEL_CS, INT80_HANDLER);
        guest.put64(IDT + 0x80 * 16, guest.get64(IDT + 0x80 * 16) | 3L << 45); // DPL 3: INT 0x80 from user code
        guest.interruptGate(IDT, 14, KERNEL_CS, PF_HANDLER);
        guest.code(INT80_HANDLER, RECORD_FRAME);
        X86CpuState s = TinyGuest.longMode(PML4, GDT, 63, IDT, 0x80 * 16 + 15, KERNEL_CS, KERNEL_DS);
        TinyGuest.loadTaskRegister(s, 0x30, TSS);
        s.gpr[4] = 0x8000;
        s.rip = CODE;
        return s;
    }

    private static X86CpuState run(TinyGuest guest, X86CpuState state) {
        SoftVirtualCpu vcpu = (SoftVirtualCpu) new SoftAccelerator()
                .createVm(new GuestMemory(guest.ram()), new NanoTimeClock())
                .createVcpu(0, RecordingIoHandler.withEmptyBuses(), LocalInterrupts.NONE);
        vcpu.load(state);
        assertThat(vcpu.run()).isEqualTo(VcpuExit.HALTED);
        return vcpu.state();
    }

    @Test
    void iretqEntersThirtyTwoBitCodeAndInt80ReachesTheKernelWithA64BitFrame() {
        X86CpuState state = longModeWithUserSegments();
        guest.code(CODE, IRETQ_TO_USER32);
        // mov eax, 0x7fffffff; inc eax; push eax; mov ebx, esp; int 0x80
        guest.code(USER_CODE, "B8FFFFFF7F 40 50 89E3 CD80");

        X86CpuState s = run(guest, state);

        assertThat(s.gpr[0]).as("40 ran as INC EAX").isEqualTo(0x80000000L);
        assertThat(s.gpr[3]).as("PUSH moved ESP by 4").isEqualTo(USER_STACK - 4);
        assertThat(guest.get64(USER_STACK - 8) >>> 32).as("a 32-bit push").isEqualTo(0x80000000L);
        assertThat(s.gpr[1]).as("frame RIP: after INT 0x80").isEqualTo(USER_CODE + 11);
        assertThat(s.gpr[2]).as("frame CS").isEqualTo(USER32_CS);
        assertThat(s.gpr[6]).as("frame RSP").isEqualTo(USER_STACK - 4);
        assertThat(s.gpr[7]).as("frame SS").isEqualTo(USER_DS);
        assertThat(s.gpr[5]).as("five 8-byte slots on RSP0").isEqualTo(RSP0 - 40);
        assertThat(s.selector[X86CpuState.CS]).isEqualTo(KERNEL_CS);
        assertThat(s.selector[X86CpuState.SS]).as("SS is NULL after a privilege change").isZero();
    }

    @Test
    void pushaAndPopaSaveAndRestoreTheRegistersAtTheOperandSize() {
        X86CpuState state = longModeWithUserSegments();
        guest.code(CODE, IRETQ_TO_USER32);
        // eax..edi = 1, 2, 3, 4, (esp), 6, 7, 8; pusha; xor eax, eax; xor ebx, ebx; popa; pushaw (66 60); int 0x80
        guest.code(USER_CODE, "B801000000 B902000000 BA03000000 BB04000000 BD06000000 BE07000000 BF08000000"
                + " 60 31C0 31DB 61 6660 CD80");

        X86CpuState s = run(guest, state);

        assertThat(s.gpr[0]).as("POPA restored EAX").isEqualTo(1);
        assertThat(s.gpr[3]).as("POPA restored EBX").isEqualTo(4);
        assertThat(s.gpr[6]).as("frame RSP: POPA gave back 32 bytes, PUSHAW took 16").isEqualTo(USER_STACK - 16);
        long[] dwords = {1, 2, 3, 4, USER_STACK, 6, 7, 8};
        for (int r = 4; r < 8; r++) { // the four PUSHAW did not overwrite
            assertThat(guest.get64(USER_STACK - 4L * (r + 1)) & 0xFFFFFFFFL).as("PUSHA slot " + r)
                    .isEqualTo(dwords[r]);
        }
        for (int r = 0; r < 8; r++) {
            assertThat(guest.get64(USER_STACK - 2L * (r + 1)) & 0xFFFF).as("PUSHAW slot " + r)
                    .isEqualTo(dwords[r] & 0xFFFF);
        }
    }

    @Test
    void sysretlAndSysexitEnterCompatibilityModeAndSysenterAndSyscallLeaveIt() {
        X86CpuState state = longModeWithUserSegments();
        state.efer |= 1; // SCE
        state.star = (long) (USER32_CS & ~3) << 48 | (long) KERNEL_CS << 32;
        state.cstar = SYSCALL32_ENTRY;
        state.sysenterCs = KERNEL_CS;
        state.sysenterEsp = 0x9800;
        state.sysenterEip = SYSENTER_ENTRY;
        // mov ecx, 0x12000; mov r11d, 2; mov esp, 0x7000; sysretl
        guest.code(CODE, "B900200100 41BB02000000 BC00700000 0F07");
        guest.code(USER_CODE, "40 40 0F34"); // inc eax; inc eax; sysenter
        // mov r12, rsp; mov edx, 0x12100; mov ecx, 0x6800; sysexit (32-bit)
        guest.code(SYSENTER_ENTRY, "4989E4 BA00210100 B900680000 0F35");
        guest.code(USER_CODE + 0x100, "40 0F05"); // inc eax; syscall
        guest.code(SYSCALL32_ENTRY, "F4");

        X86CpuState s = run(guest, state);

        assertThat(s.gpr[0]).as("three INC EAX in 32-bit code").isEqualTo(3);
        assertThat(s.gpr[12]).as("SYSENTER's stack").isEqualTo(0x9800);
        assertThat(s.gpr[4]).as("SYSEXIT's stack, kept by SYSCALL").isEqualTo(0x6800);
        assertThat(s.gpr[1]).as("SYSCALL saved the 32-bit return address").isEqualTo(USER_CODE + 0x103);
        assertThat(s.gpr[11] & 0x3C7FD7L).as("SYSCALL saved RFLAGS: PF from INC's result 3").isEqualTo(2 | 4);
        assertThat(s.rip).as("entered at CSTAR").isEqualTo(SYSCALL32_ENTRY + 1);
        assertThat(s.selector[X86CpuState.CS]).isEqualTo(KERNEL_CS);
        assertThat(s.selector[X86CpuState.SS]).isEqualTo(KERNEL_DS);
    }

    @Test
    void aPageFaultInCompatibilityModeIsDeliveredWithA64BitFrame() {
        X86CpuState state = longModeWithUserSegments();
        guest.code(CODE, IRETQ_TO_USER32);
        guest.code(USER_CODE, "A100003000"); // mov eax, [0x300000]: not present
        // mov rbx, cr2; then the error code, RIP and CS of the frame into rcx, rdx, rsi; mov rbp, rsp; hlt
        guest.code(PF_HANDLER, "0F20D3 488B0C24 488B542408 488B742410 4889E5 F4");

        X86CpuState s = run(guest, state);

        assertThat(s.gpr[3]).as("CR2").isEqualTo(0x300000);
        assertThat(s.gpr[1]).as("error code: a user read of a page not present").isEqualTo(4);
        assertThat(s.gpr[2]).as("frame RIP: the faulting instruction").isEqualTo(USER_CODE);
        assertThat(s.gpr[6]).as("frame CS").isEqualTo(USER32_CS);
        assertThat(s.gpr[5]).as("six 8-byte slots on RSP0").isEqualTo(RSP0 - 48);
    }

    @Test
    void farReturnsAndCallsMoveBetweenCompatibilityModeAnd64BitCode() {
        X86CpuState state = longModeWithUserSegments();
        guest.code(CODE, IRETQ_TO_USER32);
        guest.code(USER_CODE, "6A2B 6800210100 CB"); // push 0x2b; push 0x12100; lret (32-bit)
        // mov rax, 0x1122334455667788; push 0x1b; push 0x12200; lretq
        guest.code(USER_CODE + 0x100, "48B88877665544332211 6A1B 6800220100 48CB");
        guest.code(USER_CODE + 0x200, "9A002301002B00 CD80"); // lcall 0x2b:0x12300; int 0x80
        guest.code(USER_CODE + 0x300, "48BB0807060504030201 CB"); // mov rbx, 0x0102030405060708; lret (32-bit)

        X86CpuState s = run(guest, state);

        assertThat(s.gpr[0]).as("a 64-bit immediate: 64-bit code ran").isEqualTo(0x1122334455667788L);
        assertThat(s.gpr[3]).as("the far call reached 64-bit code").isEqualTo(0x0102030405060708L);
        assertThat(s.gpr[1]).as("back in 32-bit code after the far call").isEqualTo(USER_CODE + 0x209);
        assertThat(s.gpr[2]).as("frame CS").isEqualTo(USER32_CS);
        assertThat(s.gpr[6]).as("every far transfer released its stack").isEqualTo(USER_STACK);
    }
}
