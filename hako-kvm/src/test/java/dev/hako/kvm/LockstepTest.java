package dev.hako.kvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hako.core.accel.Accelerator;
import dev.hako.core.accel.VcpuExit;
import dev.hako.core.x86.X86CpuState;
import dev.hako.soft.SoftAccelerator;
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
        m.code(CODE, code);
        X86CpuState s = X86CpuState.atReset();
        for (int seg : new int[] {X86CpuState.CS, X86CpuState.DS, X86CpuState.ES, X86CpuState.SS}) {
            s.selector[seg] = (int) (CODE >> 4);
            s.segmentBase[seg] = CODE;
        }
        s.rip = 0;
        s.gpr[4] = 0x8000;
        s.gpr[2] = 0; // EDX's reset signature differs between CPUs; start both from zero
        return s;
    }

    /** GDT: 0x08 flat 32-bit code, 0x10 flat data, 0x18 64-bit code, 0x28 a 64-bit TSS. */
    private static void descriptorTables(TestMachine m) {
        m.put64(GDT + 8, 0x00CF9A000000FFFFL);
        m.put64(GDT + 16, 0x00CF92000000FFFFL);
        m.put64(GDT + 24, 0x00AF9A000000FFFFL);
        m.put64(GDT + 40, 0x67 | ((TSS & 0xFFFFFF) << 16) | (0x89L << 40));
        long gate = (HANDLER & 0xFFFF) | (0x18L << 16) | (0x8EL << 40) | (((HANDLER >>> 16) & 0xFFFF) << 48);
        m.put64(IDT + 0x30 * 16, gate);
        m.put64(IDT + 0x30 * 16 + 8, HANDLER >>> 32);
    }

    /** 2 MiB pages: 0-4 MiB identity, 0x40000000 an alias of 0x200000, 3-4 GiB identity (MMIO). */
    private static void pageTables(TestMachine m) {
        m.put64(PML4, PDPT | 3);
        m.put64(PDPT, PD | 3);
        m.put64(PDPT + 8, PD_ALIAS | 3);
        m.put64(PDPT + 24, PD_HIGH | 3);
        m.put64(PD, 0x83);
        m.put64(PD + 8, 0x200083);
        m.put64(PD_ALIAS, 0x200083);
        for (int i = 0; i < 512; i++) {
            m.put64(PD_HIGH + 8L * i, (0xC0000000L + ((long) i << 21)) | 0x83);
        }
    }

    /**
     * Straight into 64-bit mode. The descriptors come already accessed (as Linux's are): this host's KVM
     * (PVM) does not set the accessed bit on IRETQ as the processor does, so it is no oracle for that.
     */
    private static X86CpuState longModeAt(TestMachine m, String code, String handler) {
        descriptorTables(m);
        m.put64(GDT + 16, 0x00CF93000000FFFFL);
        m.put64(GDT + 24, 0x00AF9B000000FFFFL);
        pageTables(m);
        m.code(CODE, code);
        if (handler != null) {
            m.code(HANDLER, handler);
        }
        X86CpuState s = new X86CpuState();
        s.cr0 = 0x80050033L;
        s.cr3 = PML4;
        s.cr4 = 0x20;
        s.efer = 0x500;
        s.gdtBase = GDT;
        s.gdtLimit = 47;
        s.idtBase = IDT;
        s.idtLimit = 0x30 * 16 + 15;
        s.trSelector = 0x28;
        s.trBase = TSS;
        s.trLimit = 0x67;
        s.selector[X86CpuState.CS] = 0x18;
        s.segmentLimit[X86CpuState.CS] = 0xFFFFFFFFL;
        s.segmentAttributes[X86CpuState.CS] = 0xA09B;
        for (int seg : new int[] {X86CpuState.DS, X86CpuState.ES, X86CpuState.SS}) {
            s.selector[seg] = 0x10;
            s.segmentLimit[seg] = 0xFFFFFFFFL;
            s.segmentAttributes[seg] = 0xC093;
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
