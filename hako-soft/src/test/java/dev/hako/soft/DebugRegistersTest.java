package dev.hako.soft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.accel.LocalInterrupts;
import dev.hako.core.accel.VcpuState;
import dev.hako.core.accel.VcpuExit;
import dev.hako.core.accel.Watchpoint;
import dev.hako.core.memory.GuestMemory;
import dev.hako.core.time.NanoTimeClock;
import dev.hako.core.x86.DebugRegisters;
import dev.hako.core.x86.X86CpuState;
import dev.hako.testkit.RecordingIoHandler;
import dev.hako.testkit.TinyGuest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The guest's debug registers on a tiny long-mode guest, against SDM vol. 3 ch. 17 (the host CPU cannot be the
 * oracle here: MOV DR is privileged, and this host's hypervisor does not pass data breakpoints through to ptrace).
 * The #DB handler counts its calls in R15 and keeps the return RIP in R14, DR6 in R13 and DR7 in R12; it resets
 * DR6 as Linux does and sets RF in the frame, so an instruction breakpoint's instruction runs when it returns.
 */
class DebugRegistersTest {
    private static final long PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000, GDT = 0x4000, TSS = 0x5000, IDT = 0x6000;
    private static final long CODE = 0x10000, DB_HANDLER = 0x11000, UD_HANDLER = 0x11100, STEP_HANDLER = 0x11200;
    private static final long VAR = 0x20000, OTHER = 0x30000;
    // inc r15; mov r14,[rsp]; mov r13,dr6; mov r12,dr7; mov r11d,0xffff0ff0; mov dr6,r11;
    // or qword [rsp+16],0x10000 (RF); iretq
    private static final String DB_HANDLER_CODE = "49FFC7 4C8B3424 410F21F5 410F21FC 41BBF00FFFFF 410F23F3"
            + " 48814C24100000 0100 48CF";
    private static final String HLT = "F4", NOP = "90";
    private static final String MOV_DR0_RAX = "0F23C0", MOV_DR1_RAX = "0F23C8", MOV_DR2_RAX = "0F23D0",
            MOV_DR3_RAX = "0F23D8", MOV_DR6_RAX = "0F23F0", MOV_DR7_RAX = "0F23F8", MOV_DR4_RAX = "0F23E0";
    private static final long RF = 1L << 16;

    private final TinyGuest guest = TinyGuest.withRam(4 << 20);
    private final RecordingIoHandler io = RecordingIoHandler.withEmptyBuses();

    private static String movRax(long value) {
        return "48B8" + HexFormat.of().formatHex(java.nio.ByteBuffer.allocate(8)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(value).array());
    }

    private static String movRcx(long value) {
        return movRax(value).replace("48B8", "48B9");
    }

    /** Writes {@code insns} one after another from {@code at}; returns each one's address. */
    private long[] code(long at, String... insns) {
        List<Long> addresses = new ArrayList<>();
        long a = at;
        for (String insn : insns) {
            addresses.add(a);
            guest.code(a, insn);
            a += insn.replace(" ", "").length() / 2;
        }
        return addresses.stream().mapToLong(Long::longValue).toArray();
    }

    private SoftVirtualCpu vcpu() {
        guest.identityMapFirst2MiB(PML4, PDPT, PD);
        guest.descriptor(GDT, 0x08, TinyGuest.CODE64);
        guest.descriptor(GDT, 0x10, TinyGuest.DATA);
        guest.tssDescriptor(GDT, 0x28, TSS);
        guest.interruptGate(IDT, 1, 0x08, DB_HANDLER);
        guest.interruptGate(IDT, 6, 0x08, UD_HANDLER);
        guest.code(DB_HANDLER, DB_HANDLER_CODE);
        guest.code(UD_HANDLER, "4C8B3424 F4"); // mov r14,[rsp]; hlt
        X86CpuState s = TinyGuest.longMode(PML4, GDT, 47, IDT, 0x20 * 16 + 15, 0x08, 0x10);
        TinyGuest.loadTaskRegister(s, 0x28, TSS);
        s.gpr[4] = 0x8000;
        s.rip = CODE;
        SoftVirtualCpu vcpu = (SoftVirtualCpu) new SoftAccelerator()
                .createVm(new GuestMemory(guest.ram()), new NanoTimeClock())
                .createVcpu(0, io, LocalInterrupts.NONE);
        vcpu.load(s);
        return vcpu;
    }

    private static X86CpuState runToHalt(SoftVirtualCpu vcpu) {
        assertThat(vcpu.run()).isEqualTo(VcpuExit.HALTED);
        return vcpu.state();
    }

    @Test
    void dr6AndDr7ReadTheirFixedBitsAndDr4Dr5AliasThem() {
        code(CODE, "0F21F3", "0F21F9", // mov rbx,dr6; mov rcx,dr7 (as at reset)
                movRax(0), MOV_DR6_RAX, "0F21F2", // dr6 = 0; mov rdx,dr6
                movRax(0xFFFF_DFFFL), MOV_DR7_RAX, "0F21FE", // dr7 = all ones but GD; mov rsi,dr7
                "0F21EF", // mov rdi,dr5: DR7
                movRax(0x4001), MOV_DR4_RAX, "410F21F0", // dr4 (DR6) = BS|B0; mov r8,dr6
                movRax(0x400), MOV_DR7_RAX, HLT);
        X86CpuState s = runToHalt(vcpu());
        assertThat(s.gpr[3]).as("DR6 at reset").isEqualTo(0xFFFF0FF0L);
        assertThat(s.gpr[1]).as("DR7 at reset").isEqualTo(0x400);
        assertThat(s.gpr[2]).as("DR6 written 0: reserved bits stay 1, bit 12 0").isEqualTo(0xFFFF0FF0L);
        assertThat(s.gpr[6]).as("DR7 written all ones: bits 11, 12, 14, 15 read 0").isEqualTo(0xFFFF07FFL);
        assertThat(s.gpr[7]).as("DR5 reads DR7 with CR4.DE clear").isEqualTo(0xFFFF07FFL);
        assertThat(s.gpr[15]).as("no #DB").isZero();
        assertThat(s.gpr[8]).as("a write to DR4 is a write to DR6").isEqualTo(0xFFFF4FF1L);
    }

    @Test
    void dr4IsUndefinedUnderCr4De() {
        long[] at = code(CODE, "0F20E0", "4883C808", "0F22E0", "0F21E3", HLT); // cr4 |= DE; mov rbx,dr4
        X86CpuState s = runToHalt(vcpu());
        assertThat(s.gpr[14]).as("#UD at the MOV from DR4").isEqualTo(at[3]);
    }

    @Test
    void movToDr7OfUpperBitsIsAGeneralProtectionFault() {
        long[] at = code(CODE, movRax(1L << 32), MOV_DR7_RAX, HLT);
        SoftVirtualCpu vcpu = vcpu();
        guest.interruptGate(IDT, 13, 0x08, UD_HANDLER + 0x80);
        guest.code(UD_HANDLER + 0x80, "4C8B742408 F4"); // mov r14,[rsp+8] (past the error code); hlt
        X86CpuState s = runToHalt(vcpu);
        assertThat(s.gpr[14]).as("#GP at the MOV").isEqualTo(at[1]);
    }

    @Test
    void writeBreakpointTrapsAfterTheStoreOnly() {
        long[] at = code(CODE, movRax(VAR), MOV_DR0_RAX,
                movRax(0x400 | DebugRegisters.arm(0, DebugRegisters.RW_WRITE, 8)), MOV_DR7_RAX,
                "488B1C2500000200", // mov rbx,[VAR]: a read, not watched
                "48C704250000020005000000", // mov qword [VAR],5
                NOP, HLT);
        X86CpuState s = runToHalt(vcpu());
        assertThat(s.gpr[15]).as("one #DB").isEqualTo(1);
        assertThat(s.gpr[14]).as("a trap: RIP past the store").isEqualTo(at[6]);
        assertThat(s.gpr[13]).as("DR6.B0").isEqualTo(0xFFFF0FF1L);
        assertThat(guest.get64(VAR)).isEqualTo(5);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4, 8})
    void aBreakpointCoversItsLengthAlignedDown(int length) {
        long[] at = code(CODE, movRax(VAR + length - 1), MOV_DR1_RAX, // the low bits are not compared
                movRax(0x400 | DebugRegisters.arm(1, DebugRegisters.RW_WRITE, length)), MOV_DR7_RAX,
                movRcx(VAR + length), "C60101", // mov byte [rcx],1: just past the range
                movRcx(VAR + length - 1), "C60101", // its last byte
                movRcx(VAR - 1), "66C7010100", // mov word [rcx],1: one byte before it and its first
                movRcx(VAR - 1), "C60101", // just before it
                HLT);
        X86CpuState s = runToHalt(vcpu());
        assertThat(s.gpr[15]).as("#DBs").isEqualTo(2);
        assertThat(s.gpr[14]).as("the last after the word store").isEqualTo(at[10]);
        assertThat(s.gpr[13]).as("DR6.B1").isEqualTo(0xFFFF0FF2L);
    }

    @Test
    void readWriteBreakpointSeesLoadsAndLockedUpdatesWhereAWriteBreakpointSeesOnlyTheUpdate() {
        code(CODE, movRcx(VAR),
                movRax(VAR), MOV_DR2_RAX, movRax(OTHER), MOV_DR3_RAX,
                movRax(0x400 | DebugRegisters.arm(2, DebugRegisters.RW_READ_WRITE, 4)
                        | DebugRegisters.arm(3, DebugRegisters.RW_WRITE, 4)), MOV_DR7_RAX,
                "8B01", "F048FF01", // mov eax,[rcx]; lock inc qword [rcx]: VAR, read-write
                movRcx(OTHER), "8B01", "F048FF01", // the same on OTHER, write only
                HLT);
        X86CpuState s = runToHalt(vcpu());
        assertThat(s.gpr[15]).as("#DBs: load and update of VAR, update of OTHER").isEqualTo(3);
        assertThat(s.gpr[13]).as("DR6.B3 last").isEqualTo(0xFFFF0FF8L);
    }

    /** mov rax,DR3's address; mov dr3,rax; arm it; loop: inc rdx; cmp rdx,2; jne loop; hlt. */
    private static String[] twoPasses(long breakpoint) {
        return new String[] {movRax(breakpoint), MOV_DR3_RAX,
                movRax(0x400 | DebugRegisters.arm(3, DebugRegisters.RW_EXECUTE, 1)), MOV_DR7_RAX,
                "48FFC2", "4883FA02", "75F7", HLT};
    }

    @Test
    void instructionBreakpointFaultsBeforeItsInstructionEachTimeAndRfLetsItRunOnce() {
        long loop = code(CODE, twoPasses(0))[4];
        code(CODE, twoPasses(loop));
        X86CpuState s = runToHalt(vcpu());
        assertThat(s.gpr[15]).as("one #DB per pass").isEqualTo(2);
        assertThat(s.gpr[14]).as("a fault: RIP on the instruction").isEqualTo(loop);
        assertThat(s.gpr[13]).as("DR6.B3").isEqualTo(0xFFFF0FF8L);
        assertThat(s.gpr[2]).as("each pass ran the instruction once").isEqualTo(2);
        assertThat(s.rflags & RF).as("RF cleared after the instruction").isZero();
    }

    @Test
    void aSingleStepThatHitsAWatchedStoreSetsBothBsAndB0() {
        long[] at = code(CODE, movRax(VAR), MOV_DR0_RAX,
                movRax(0x400 | DebugRegisters.arm(0, DebugRegisters.RW_WRITE, 8)), MOV_DR7_RAX,
                "9C", "48810C2400010000", "9D", // pushfq; or qword [rsp],TF; popfq
                "48C704250000020005000000", NOP, HLT); // mov qword [VAR],5
        SoftVirtualCpu vcpu = vcpu();
        // #DB handler that also clears TF in the frame: and qword [rsp+16],~0x100
        guest.interruptGate(IDT, 1, 0x08, STEP_HANDLER);
        guest.code(STEP_HANDLER, "4881642410FFFEFFFF " + DB_HANDLER_CODE);
        X86CpuState s = runToHalt(vcpu);
        assertThat(s.gpr[15]).as("one #DB").isEqualTo(1);
        assertThat(s.gpr[14]).isEqualTo(at[8]);
        assertThat(s.gpr[13]).as("DR6.BS and B0").isEqualTo(0xFFFF4FF1L);
    }

    @Test
    void generalDetectFaultsTheMovAndClearsGdForTheHandler() {
        long[] at = code(CODE, movRax(0x400 | DebugRegisters.DR7_GD), MOV_DR7_RAX, "0F21C3", HLT); // mov rbx,dr0
        X86CpuState s = runToHalt(vcpu());
        assertThat(s.gpr[15]).as("one #DB, then the MOV ran").isEqualTo(1);
        assertThat(s.gpr[14]).as("a fault: RIP on the MOV").isEqualTo(at[2]);
        assertThat(s.gpr[13]).as("DR6.BD").isEqualTo(0xFFFF2FF0L);
        assertThat(s.gpr[12]).as("GD cleared").isEqualTo(0x400);
    }

    /** Fills 5000 quadwords' worth of stores at [rcx]: xor edx,edx; loop: mov [rcx],rdx; inc rdx; cmp rdx,5000. */
    private static final String[] STORE_LOOP = {"31D2", "488911", "48FFC2", "4881FA88130000", "75F1", "C3"};
    private static final long STORE_LOOP_AT = 0x12000;

    private static String callRel32(long from, long to) {
        return "E8" + HexFormat.of().formatHex(java.nio.ByteBuffer.allocate(4)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt((int) (to - from - 5)).array());
    }

    @Test
    void aWatchedStoreInCodeTheTranslatorCompiledTrapsAtEveryStore() {
        code(STORE_LOOP_AT, STORE_LOOP);
        String[] program = {movRcx(OTHER), "", // the loop becomes hot and translated
                movRax(VAR), MOV_DR0_RAX, movRax(0x400 | DebugRegisters.arm(0, DebugRegisters.RW_WRITE, 8)),
                MOV_DR7_RAX, movRcx(VAR), "", HLT};
        program[1] = program[7] = callRel32(0, 0);
        long[] at = code(CODE, program);
        program[1] = callRel32(at[1], STORE_LOOP_AT);
        program[7] = callRel32(at[7], STORE_LOOP_AT);
        code(CODE, program);
        X86CpuState s = runToHalt(vcpu());
        assertThat(s.gpr[15]).as("a #DB per store").isEqualTo(5000);
        assertThat(s.gpr[14]).as("the last after the last store").isEqualTo(STORE_LOOP_AT + 5);
        assertThat(guest.get64(VAR)).isEqualTo(4999);
        assertThat(guest.get64(OTHER)).isEqualTo(4999);
    }

    @Test
    void theDebuggersWatchpointStopsAfterTheStoreWithoutTouchingDr6() {
        long[] at = code(CODE, "488B1C2500000200", "48C704250000020005000000", NOP, HLT);
        SoftVirtualCpu vcpu = vcpu();
        vcpu.debug(new long[0], new Watchpoint[] {new Watchpoint(VAR + 4, 1, Watchpoint.Kind.WRITE)}, false);

        VcpuExit exit = vcpu.run();

        assertThat(exit).isEqualTo(new VcpuExit.DebugTrap(at[2], new Watchpoint(VAR + 4, 1, Watchpoint.Kind.WRITE)));
        assertThat(vcpu.cpu().sys.dr[6]).as("DR6 is the guest's").isEqualTo(DebugRegisters.DR6_FIXED);
        assertThat(vcpu.cpu().sys.dr[7]).isEqualTo(DebugRegisters.DR7_FIXED);
        vcpu.debug(new long[0], new Watchpoint[] {new Watchpoint(VAR, 8, Watchpoint.Kind.READ)}, false);
        assertThat(runToHalt(vcpu).gpr[15]).as("no #DB").isZero();
    }

    /** mov rax,cr4; or rax,DE; mov cr4,rax. */
    private static final String SET_CR4_DE = "0F20E0 4883C808 0F22E0";

    private static String movEdx(int value) {
        return movRax(value).replace("48B8", "BA").substring(0, 10);
    }

    @Test
    void ioBreakpointTrapsAfterEveryInOrOutOfAnyWidthThatTouchesItsPorts() {
        long[] at = code(CODE, SET_CR4_DE, movRax(0x71), MOV_DR1_RAX, // ports 0x70-0x71: LEN 2 aligns 0x71 down
                movRax(0x400 | DebugRegisters.arm(1, DebugRegisters.RW_IO, 2)), MOV_DR7_RAX,
                "E672", "E46F", // out 0x72,al; in al,0x6f: just past and just before
                movEdx(0x6E), "EF", // out dx,eax: 0x6e-0x71
                movEdx(0x71), "EC", // in al,dx: the last port
                movEdx(0x6F), "66ED", // in ax,dx: 0x6f-0x70
                NOP, HLT);
        X86CpuState s = runToHalt(vcpu());
        assertThat(s.gpr[15]).as("#DBs: the dword OUT, the byte IN, the word IN").isEqualTo(3);
        assertThat(s.gpr[14]).as("a trap: RIP past the last IN").isEqualTo(at[13]);
        assertThat(s.gpr[13]).as("DR6.B1").isEqualTo(0xFFFF0FF2L);
        assertThat(io.traffic()).as("every access happened once").hasSize(5);
    }

    @Test
    void rwTenArmsNothingWithoutCr4DeAndArmsWhenDeComesOn() {
        long[] at = code(CODE, movRax(0x80), MOV_DR0_RAX,
                movRax(0x400 | DebugRegisters.arm(0, DebugRegisters.RW_IO, 1)), MOV_DR7_RAX,
                "E680", // out 0x80,al: R/W 10 is undefined without DE, nothing breaks
                SET_CR4_DE, "E680", NOP, HLT);
        X86CpuState s = runToHalt(vcpu());
        assertThat(s.gpr[15]).as("one #DB, for the OUT after DE").isEqualTo(1);
        assertThat(s.gpr[14]).isEqualTo(at[7]);
        assertThat(s.gpr[13]).as("DR6.B0").isEqualTo(0xFFFF0FF1L);
    }

    @Test
    void repInsAndOutsTrapAfterEachIterationThatTouchesTheBreakpoint() {
        guest.code(VAR, "0102030405060708");
        long[] at = code(CODE, SET_CR4_DE, movRax(0x81), MOV_DR2_RAX,
                movRax(0x400 | DebugRegisters.arm(2, DebugRegisters.RW_IO, 1)), MOV_DR7_RAX,
                movEdx(0x81), movRcx(3), movRax(VAR).replace("48B8", "48BE"), "F36E", // rep outsb: 3 hits
                movEdx(0x80), movRcx(2), movRax(OTHER).replace("48B8", "48BF"), "F3666D", // rep insw 0x80-0x81: 2
                movEdx(0x82), movRcx(2), "F36C", // rep insb from 0x82: none
                NOP, HLT);
        X86CpuState s = runToHalt(vcpu());
        assertThat(s.gpr[15]).as("a #DB per iteration that touched port 0x81").isEqualTo(5);
        assertThat(s.gpr[14]).as("the last after the REP INSW completed").isEqualTo(at[13]);
        assertThat(s.gpr[13]).as("DR6.B2").isEqualTo(0xFFFF0FF4L);
        assertThat(s.gpr[1]).as("RCX").isZero();
        assertThat(s.gpr[6]).as("RSI past the three bytes").isEqualTo(VAR + 3);
        assertThat(s.gpr[7]).as("RDI past two words and two bytes").isEqualTo(OTHER + 6);
        assertThat(io.traffic()).as("each iteration ran once, none again after a trap")
                .containsExactly("out port 0x81/1 <- 0x1", "out port 0x81/1 <- 0x2", "out port 0x81/1 <- 0x3",
                        "in  port 0x80/2 -> 0xffff", "in  port 0x80/2 -> 0xffff",
                        "in  port 0x82/1 -> 0xff", "in  port 0x82/1 -> 0xff");
    }

    @Test
    void armedBreakpointsComeBackWithASnapshotAndTrapInTheRestoredVcpu() {
        long dr7 = 0x400 | DebugRegisters.arm(0, DebugRegisters.RW_WRITE, 8)
                | DebugRegisters.arm(1, DebugRegisters.RW_EXECUTE, 1);
        String[] program = {movRax(VAR), MOV_DR0_RAX, movRax(0), MOV_DR1_RAX, movRax(dr7), MOV_DR7_RAX, HLT,
                "48C704250000020005000000", NOP, NOP, HLT}; // mov qword [VAR],5; the breakpoint on the second NOP
        long[] at = code(CODE, program); // (not the first: the handler's RF would let it run past its breakpoint)
        program[2] = movRax(at[9]);
        code(CODE, program);
        SoftVirtualCpu first = vcpu();
        runToHalt(first);
        VcpuState saved = first.save();
        assertThat(saved.cpu().dr7).isEqualTo(dr7);

        SoftVirtualCpu restored = vcpu();
        X86CpuState running = saved.cpu();
        running.halted = false; // past the HLT that let the test take the snapshot
        restored.restore(new VcpuState(VcpuState.VERSION, running));
        X86CpuState s = runToHalt(restored);
        assertThat(s.gpr[15]).as("#DBs: after the store, before the second NOP").isEqualTo(2);
        assertThat(s.gpr[14]).as("the instruction breakpoint's fault, RIP on the NOP").isEqualTo(at[9]);
        assertThat(s.gpr[13]).as("DR6.B1").isEqualTo(0xFFFF0FF2L);
        assertThat(s.gpr[12]).as("DR7 as the first vCPU armed it").isEqualTo(dr7);
        assertThat(guest.get64(VAR)).isEqualTo(5);
    }

    @Test
    void aFaultsFrameCarriesRfSoABreakpointArmedByItsHandlerWaitsForTheInstructionsNextRun() {
        // mov rbx,[rcx] with RCX non-canonical raises #GP; its handler puts an instruction breakpoint on the MOV,
        // points RCX at VAR, keeps the RFLAGS image in R10 and returns without touching RF. The restarted MOV runs
        // (RF), and the breakpoint fires on the loop's second pass.
        long[] at = code(CODE, movRcx(1L << 63), "488B19", "48FFC2", "4883FA02", "75F4", HLT);
        SoftVirtualCpu vcpu = vcpu();
        guest.interruptGate(IDT, 13, 0x08, UD_HANDLER + 0x80);
        guest.code(UD_HANDLER + 0x80, movRax(at[1]) + MOV_DR3_RAX
                + movRax(0x400 | DebugRegisters.arm(3, DebugRegisters.RW_EXECUTE, 1)) + MOV_DR7_RAX + movRcx(VAR)
                + "4C8B542418 4883C408 48CF"); // mov r10,[rsp+24]; add rsp,8 (the error code); iretq
        guest.code(VAR, "3412000000000000");
        X86CpuState s = runToHalt(vcpu);
        assertThat(s.gpr[10] & RF).as("RF in the #GP frame").isEqualTo(RF);
        assertThat(s.gpr[15]).as("#DBs: the second pass only").isEqualTo(1);
        assertThat(s.gpr[14]).isEqualTo(at[1]);
        assertThat(s.gpr[3]).as("the MOV ran once RCX was fixed").isEqualTo(0x1234);
        assertThat(s.rflags & RF).as("RF ends with the instruction").isZero();
    }

    @Test
    void generalDetectsFrameCarriesRfAndATrapsDoesNot() {
        // The #DB handler here counts in R15, keeps the frame's RFLAGS in R11 and returns to the frame as it is.
        long[] at = code(CODE, movRax(VAR), MOV_DR0_RAX,
                movRax(0x400 | DebugRegisters.arm(0, DebugRegisters.RW_WRITE, 8)), MOV_DR7_RAX,
                "48C704250000020005000000", "4D89DA", // mov qword [VAR],5: a trap; mov r10,r11
                movRax(0x400 | DebugRegisters.DR7_GD), MOV_DR7_RAX, "0F21C3", HLT); // GD, then mov rbx,dr0: a fault
        SoftVirtualCpu vcpu = vcpu();
        guest.interruptGate(IDT, 1, 0x08, STEP_HANDLER);
        guest.code(STEP_HANDLER, "49FFC7 4C8B5C2410 48CF"); // inc r15; mov r11,[rsp+16]; iretq
        X86CpuState s = runToHalt(vcpu);
        assertThat(s.gpr[15]).as("#DBs: the store's trap, the MOV DR's general detect").isEqualTo(2);
        assertThat(s.gpr[10] & RF).as("RF in the data breakpoint's trap frame").isZero();
        assertThat(s.gpr[11] & RF).as("RF in general detect's fault frame").isEqualTo(RF);
        assertThat(s.rip).as("the MOV DR ran after its fault").isEqualTo(at[9] + 1);
    }
}
