package dev.hako.kvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hako.core.accel.Accelerator;
import dev.hako.core.accel.VcpuExit;
import dev.hako.core.x86.X86CpuState;
import dev.hako.soft.SoftAccelerator;
import dev.hako.testkit.TinyGuest;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Tiny guests run on KVM and on the soft CPU through the same Accelerator SPI, with the same devices: the
 * exits, every port and MMIO access, the final architectural registers and all of RAM must be identical.
 * KVM is the oracle for the soft CPU's system-level behaviour.
 */
@Tag("kvm")
class LockstepTest {
    private static final long PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000, GDT = 0x4000, TSS = 0x5000, IDT = 0x6000,
            PD_ALIAS = 0x7000, PD_HIGH = 0x8000, CODE = 0x10000, HANDLER = CODE + 0x100;
    private static Accelerator kvm;

    @BeforeAll
    static void openKvm() {
        KvmProbe probe = KvmProbe.host();
        assumeTrue(probe.usable(), () -> "KVM is unusable here: " + probe.reason());
        kvm = KvmAccelerator.open();
    }

    /** What one accelerator did with a guest. */
    private record Outcome(List<String> exits, List<String> traffic, List<String> registers, X86CpuState state,
            MemorySegment ram) { }

    private static Outcome runOn(Accelerator accelerator, Function<TestMachine, X86CpuState> setUp,
            Consumer<TestMachine> drive) {
        try (TestMachine m = new TestMachine(accelerator)) {
            m.vcpu.load(setUp.apply(m));
            drive.accept(m);
            X86CpuState s = m.state();
            MemorySegment ram = MemorySegment.ofArray(new byte[(int) TestMachine.RAM_SIZE]);
            ram.copyFrom(m.ram);
            return new Outcome(List.copyOf(m.exits), List.copyOf(m.traffic), ArchitecturalState.describe(s), s, ram);
        }
    }

    /** Runs the guest on both accelerators, asserts they agree, and returns the soft CPU's outcome. */
    private static Outcome lockstep(Function<TestMachine, X86CpuState> setUp, Consumer<TestMachine> drive) {
        Outcome onKvm = runOn(kvm, setUp, drive);
        Outcome onSoft = runOn(new SoftAccelerator(), setUp, drive);
        assertThat(onSoft.exits()).as("exits (soft vs kvm)").containsExactlyElementsOf(onKvm.exits());
        assertThat(onSoft.traffic()).as("device traffic (soft vs kvm)").containsExactlyElementsOf(onKvm.traffic());
        assertThat(onSoft.registers()).as("registers (soft vs kvm)").containsExactlyElementsOf(onKvm.registers());
        assertThat(ramDifferences(onSoft.ram(), onKvm.ram())).as("RAM quadwords that differ (soft vs kvm)").isEmpty();
        return onSoft;
    }

    private static Outcome lockstep(Function<TestMachine, X86CpuState> setUp) {
        return lockstep(setUp, TestMachine::runToExit);
    }

    private static List<String> ramDifferences(MemorySegment soft, MemorySegment kvm) {
        List<String> diffs = new ArrayList<>();
        for (long at = 0; at < soft.byteSize() && diffs.size() < 16; at += 8) {
            long a = soft.get(ValueLayout.JAVA_LONG_UNALIGNED, at), b = kvm.get(ValueLayout.JAVA_LONG_UNALIGNED, at);
            if (a != b) {
                diffs.add(String.format("%#x: soft %#018x kvm %#018x", at, a, b));
            }
        }
        return diffs;
    }

    // ---- machine set-ups

    private static X86CpuState realModeAt(TestMachine m, String code) {
        m.guest.code(CODE, code);
        X86CpuState s = TinyGuest.realMode(CODE, X86CpuState.CS, X86CpuState.DS, X86CpuState.ES, X86CpuState.SS);
        s.gpr[4] = 0x8000;
        s.gpr[2] = 0; // EDX's reset signature differs between CPUs; start both from zero
        return s;
    }

    /** GDT: 0x08 flat 32-bit code, 0x10 flat data, 0x18 64-bit code, 0x28 a 64-bit TSS. */
    private static void descriptorTables(TestMachine m) {
        m.guest.descriptor(GDT, 0x08, TinyGuest.CODE32_UNACCESSED);
        m.guest.descriptor(GDT, 0x10, TinyGuest.DATA_UNACCESSED);
        m.guest.descriptor(GDT, 0x18, TinyGuest.CODE64_UNACCESSED);
        m.guest.tssDescriptor(GDT, 0x28, TSS);
        m.guest.interruptGate(IDT, 0x30, 0x18, HANDLER);
    }

    /** 2 MiB pages: 0-4 MiB identity, 0x40000000 an alias of 0x200000, 3-4 GiB identity (MMIO). */
    private static void pageTables(TestMachine m) {
        m.guest.identityMapFirst2MiB(PML4, PDPT, PD);
        m.guest.put64(PDPT + 8, PD_ALIAS | 3);
        m.guest.put64(PDPT + 24, PD_HIGH | 3);
        m.guest.put64(PD + 8, 0x200000 | TinyGuest.LARGE_PAGE);
        m.guest.put64(PD_ALIAS, 0x200000 | TinyGuest.LARGE_PAGE);
        for (int i = 0; i < 512; i++) {
            m.guest.put64(PD_HIGH + 8L * i, (0xC0000000L + ((long) i << 21)) | TinyGuest.LARGE_PAGE);
        }
    }

    /**
     * Straight into 64-bit mode. The descriptors come already accessed (as Linux's are): this host's KVM
     * (PVM) does not set the accessed bit on IRETQ as the processor does, so it is no oracle for that.
     */
    private static X86CpuState longModeAt(TestMachine m, String code, String handler) {
        descriptorTables(m);
        m.guest.descriptor(GDT, 0x10, TinyGuest.DATA);
        m.guest.descriptor(GDT, 0x18, TinyGuest.CODE64);
        pageTables(m);
        m.guest.code(CODE, code);
        if (handler != null) {
            m.guest.code(HANDLER, handler);
        }
        X86CpuState s = TinyGuest.longMode(PML4, GDT, 47, IDT, 0x30 * 16 + 15, 0x18, 0x10);
        TinyGuest.loadTaskRegister(s, 0x28, TSS);
        for (int seg : new int[] {X86CpuState.CS, X86CpuState.DS, X86CpuState.ES, X86CpuState.SS}) {
            s.segmentLimit[seg] = 0xFFFFFFFFL;
        }
        s.gpr[4] = 0x9F000;
        s.rip = CODE;
        return s;
    }

    // ---- the guests

    @Test
    void realMode() {
        Outcome o = lockstep(m -> realModeAt(m, GuestPrograms.REAL_MODE));
        assertThat(o.exits()).containsExactly(VcpuExit.HALTED.toString());
        assertThat(o.traffic()).startsWith("out port 0x10/2 <- 0x1234", "in  port 0x11/1 -> 0x40");
        assertThat(o.traffic()).filteredOn(t -> t.startsWith("out port 0x12")).hasSize(5);
        assertThat(o.ram().get(ValueLayout.JAVA_SHORT_UNALIGNED, CODE + 0x3F)).as("sum 1..10 - 100").isEqualTo((short) -45);
        assertThat(o.state().gpr[5]).as("BP popped").isEqualTo(0xBEEF);
    }

    @Test
    void protectedMode32() {
        Outcome o = lockstep(m -> {
            descriptorTables(m);
            return realModeAt(m, GuestPrograms.PROTECTED_MODE);
        });
        assertThat(o.state().selector[X86CpuState.CS]).isEqualTo(0x08);
        assertThat(o.traffic()).contains("out port 0x13/4 <- 0xcafebabe", "out port 0x13/4 <- 0x55667788");
        assertThat(o.state().cr0 & 1).isEqualTo(1);
    }

    @Test
    void longModeWithPaging() {
        Outcome o = lockstep(m -> {
            descriptorTables(m);
            pageTables(m);
            return realModeAt(m, GuestPrograms.LONG_MODE);
        });
        X86CpuState s = o.state();
        assertThat(o.ram().get(ValueLayout.JAVA_LONG_UNALIGNED, 0x200010)).as("stored through the alias").isEqualTo(0x1122334455667788L);
        assertThat(s.gpr[6]).as("read back through the identity map").isEqualTo(~0x1122334455667788L);
        assertThat(s.gpr[10]).as("RIP-relative load").isEqualTo(0x0123456789ABCDEFL);
        assertThat(s.gpr[12] & 0x500).as("EFER.LME and LMA").isEqualTo(0x500);
    }

    @Test
    void portIo() {
        Outcome o = lockstep(m -> longModeAt(m, GuestPrograms.PORT_IO, null));
        assertThat(o.traffic()).filteredOn(t -> t.startsWith("out port 0x12/2")).hasSize(3);
        assertThat(o.traffic()).filteredOn(t -> t.startsWith("in  port 0x11/2")).hasSize(1 + 4);
    }

    @Test
    void mmio() {
        Outcome o = lockstep(m -> longModeAt(m, GuestPrograms.MMIO, null));
        assertThat(o.traffic()).contains("write 0xd0000008/8 <- 0x8899aabbccddeeff");
        assertThat(o.state().gpr[7]).as("EDI after the read-modify-write").isEqualTo(0x44556678);
    }

    @Test
    void interruptThroughIoApicAndLocalApic() {
        Outcome o = lockstep(m -> longModeAt(m, GuestPrograms.IOAPIC_INTERRUPT, GuestPrograms.IOAPIC_INTERRUPT_AT_100));
        X86CpuState s = o.state();
        assertThat(s.gpr[14]).as("the handler ran once").isEqualTo(1);
        assertThat(s.gpr[12]).as("the guest went on after the handler").isEqualTo(2);
        assertThat(o.traffic()).contains("write 0xfee000b0/4 <- 0x0");
    }

    @Test
    void haltAndWakeUp() {
        Outcome o = lockstep(m -> longModeAt(m, GuestPrograms.HLT_WAKE, GuestPrograms.HLT_WAKE_AT_100), m -> {
            assertThat(m.runToExit()).isEqualTo(VcpuExit.HALTED);
            assertThat(m.vcpu.interruptPending()).as("nothing pending while halted").isFalse();
            m.chip.isaIrq(5).pulse();
            assertThat(m.vcpu.interruptPending()).as("IRQ 5 pending").isTrue();
            m.runToExit();
        });
        assertThat(o.exits()).containsExactly(VcpuExit.HALTED.toString(), VcpuExit.HALTED.toString());
        assertThat(o.state().gpr[14]).isEqualTo(1);
        assertThat(o.state().gpr[12]).isEqualTo(7);
    }
}
