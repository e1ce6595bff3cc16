package dev.hako.devices.irqchip;

import static dev.hako.devices.irqchip.LocalApic.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.bus.MmioBus;
import dev.hako.core.bus.PioBus;
import dev.hako.core.irq.MsiMessage;
import dev.hako.core.time.TimerQueue;
import dev.hako.testkit.ManualClock;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The I/O APIC and local APICs driven through their MMIO pages, as Linux's apic and io_apic code does. */
class ApicTest {
    private static final long TSC_HZ = 2_000_000_000L;

    private final ManualClock clock = new ManualClock(1_000_000);
    private final TimerQueue timers = new TimerQueue(clock);
    private final UserspaceIrqChip chip = new UserspaceIrqChip(2, timers, TSC_HZ);
    private final PioBus pio = new PioBus();
    private final MmioBus mmio = new MmioBus();
    private final AtomicInteger[] kicks = {new AtomicInteger(), new AtomicInteger()};

    {
        chip.registerOn(pio, mmio);
        for (int i = 0; i < 2; i++) {
            AtomicInteger k = kicks[i];
            chip.setKick(i, k::incrementAndGet);
        }
        // Linux's setup_local_APIC: software-enable with spurious vector 0xFF.
        lapicWrite(0, REG_SVR, SVR_ENABLE | 0xFF);
        lapicWrite(1, REG_SVR, SVR_ENABLE | 0xFF);
        // With the I/O APIC in use Linux masks every 8259 input.
        pio.write(0, 0x21, 1, 0xFF);
        pio.write(0, 0xA1, 1, 0xFF);
    }

    private void lapicWrite(int vcpu, int reg, int value) {
        mmio.write(vcpu, DEFAULT_BASE + reg, 4, value & 0xFFFF_FFFFL);
    }

    private int lapicRead(int vcpu, int reg) {
        return (int) mmio.read(vcpu, DEFAULT_BASE + reg, 4);
    }

    private void redirect(int pin, long entry) {
        mmio.write(0, IoApic.DEFAULT_BASE + IoApic.IOREGSEL, 4, IoApic.REG_REDIRECTION + 2 * pin + 1);
        mmio.write(0, IoApic.DEFAULT_BASE + IoApic.IOWIN, 4, entry >>> 32);
        mmio.write(0, IoApic.DEFAULT_BASE + IoApic.IOREGSEL, 4, IoApic.REG_REDIRECTION + 2 * pin);
        mmio.write(0, IoApic.DEFAULT_BASE + IoApic.IOWIN, 4, entry & 0xFFFF_FFFFL);
    }

    private long ioApicRead(int reg) {
        mmio.write(0, IoApic.DEFAULT_BASE + IoApic.IOREGSEL, 4, reg);
        return mmio.read(0, IoApic.DEFAULT_BASE + IoApic.IOWIN, 4);
    }

    @Test
    void registersReadTheirResetValues() {
        assertThat(lapicRead(1, REG_ID) >>> 24).isEqualTo(1);
        assertThat(lapicRead(0, REG_VERSION)).isEqualTo(0x50014);
        assertThat(lapicRead(0, REG_DFR)).isEqualTo(0xFFFF_FFFF);
        assertThat(lapicRead(1, REG_LVT_TIMER) & LVT_MASKED).isNotZero();
        assertThat(ioApicRead(IoApic.REG_VERSION)).isEqualTo(0x170011);
        assertThat(ioApicRead(IoApic.REG_REDIRECTION + 6) & IoApic.ENTRY_MASKED).isNotZero();
        assertThat(chip.readMsr(0, MSR_IA32_APIC_BASE)).isEqualTo(0xFEE0_0900L);
        assertThat(chip.readMsr(1, MSR_IA32_APIC_BASE)).isEqualTo(0xFEE0_0800L);
    }

    @Test
    void edgeInterruptReachesThePhysicalDestination() {
        redirect(4, 1L << 56 | 0x24);
        chip.isaIrq(4).pulse();
        assertThat(chip.hasPendingInterrupt(0)).isFalse();
        assertThat(chip.hasPendingInterrupt(1)).isTrue();
        assertThat(kicks[1].get()).isEqualTo(1);
        assertThat(lapicRead(1, REG_IRR + 0x10) & (1 << 4)).isNotZero();
        assertThat(chip.acknowledge(1)).isEqualTo(0x24);
        assertThat(lapicRead(1, REG_ISR + 0x10) & (1 << 4)).isNotZero();
        assertThat(lapicRead(1, REG_PPR)).isEqualTo(0x20);
        lapicWrite(1, REG_EOI, 0);
        assertThat(lapicRead(1, REG_ISR + 0x10)).isZero();
    }

    @Test
    void timerIrqZeroArrivesOnPinTwo() {
        redirect(2, 0x30);
        chip.isaIrq(0).pulse();
        assertThat(chip.acknowledge(0)).isEqualTo(0x30);
    }

    @Test
    void levelInterruptWaitsForEoiAndRepeatsWhileAsserted() {
        redirect(10, IoApic.ENTRY_LEVEL | 0x3A);
        chip.isaIrq(10).set(true);
        assertThat(chip.acknowledge(0)).isEqualTo(0x3A);
        assertThat(ioApicRead(IoApic.REG_REDIRECTION + 20) & IoApic.ENTRY_REMOTE_IRR).isNotZero();
        assertThat(lapicRead(0, REG_TMR + 0x10) & (1 << 26)).isNotZero();
        chip.isaIrq(10).set(true);
        assertThat(chip.hasPendingInterrupt(0)).isFalse(); // remote IRR blocks
        lapicWrite(0, REG_EOI, 0);
        assertThat(ioApicRead(IoApic.REG_REDIRECTION + 20) & IoApic.ENTRY_REMOTE_IRR).isNotZero(); // re-delivered
        assertThat(chip.acknowledge(0)).isEqualTo(0x3A);
        chip.isaIrq(10).set(false);
        lapicWrite(0, REG_EOI, 0);
        assertThat(ioApicRead(IoApic.REG_REDIRECTION + 20) & IoApic.ENTRY_REMOTE_IRR).isZero();
        assertThat(chip.hasPendingInterrupt(0)).isFalse();
    }

    @Test
    void suppressedEoiBroadcastLeavesRemoteIrrSet() {
        lapicWrite(0, REG_SVR, SVR_ENABLE | SVR_SUPPRESS_EOI_BROADCAST | 0xFF);
        redirect(11, IoApic.ENTRY_LEVEL | 0x3B);
        chip.isaIrq(11).set(true);
        chip.acknowledge(0);
        lapicWrite(0, REG_EOI, 0);
        assertThat(ioApicRead(IoApic.REG_REDIRECTION + 22) & IoApic.ENTRY_REMOTE_IRR).isNotZero();
    }

    @Test
    void maskedEdgeIsDeliveredOnUnmask() {
        redirect(5, IoApic.ENTRY_MASKED | 0x25);
        chip.isaIrq(5).pulse();
        assertThat(chip.hasPendingInterrupt(0)).isFalse();
        redirect(5, 0x25);
        assertThat(chip.acknowledge(0)).isEqualTo(0x25);
    }

    @Test
    void logicalFlatAndClusterDestinations() {
        lapicWrite(0, REG_LDR, 0x01 << 24);
        lapicWrite(1, REG_LDR, 0x02 << 24);
        redirect(6, IoApic.ENTRY_DEST_LOGICAL | 0x02L << 56 | 0x26);
        chip.isaIrq(6).pulse();
        assertThat(chip.hasPendingInterrupt(0)).isFalse();
        assertThat(chip.acknowledge(1)).isEqualTo(0x26);
        chip.endOfInterrupt(1);

        redirect(7, IoApic.ENTRY_DEST_LOGICAL | 0x03L << 56 | 0x27);
        chip.isaIrq(7).pulse();
        assertThat(chip.hasPendingInterrupt(0)).isTrue();
        assertThat(chip.hasPendingInterrupt(1)).isTrue();

        lapicWrite(0, REG_DFR, 0x0FFF_FFFF); // cluster model
        lapicWrite(1, REG_DFR, 0x0FFF_FFFF);
        lapicWrite(0, REG_LDR, 0x11 << 24);
        lapicWrite(1, REG_LDR, 0x21 << 24);
        redirect(9, IoApic.ENTRY_DEST_LOGICAL | 0x21L << 56 | 0x59);
        chip.isaIrq(9).pulse();
        assertThat(lapicRead(1, REG_IRR + 0x20) & (1 << 25)).isNotZero();
        assertThat(lapicRead(0, REG_IRR + 0x20) & (1 << 25)).isZero();
    }

    @Test
    void lowestPriorityPicksTheLowerTaskPriority() {
        lapicWrite(0, REG_TPR, 0x20);
        redirect(3, 1L << 8 | 0xFFL << 56 | 0x43);
        chip.isaIrq(3).pulse();
        assertThat(chip.hasPendingInterrupt(0)).isFalse();
        assertThat(chip.acknowledge(1)).isEqualTo(0x43);
    }

    @Test
    void taskPriorityHoldsBackLowerClasses() {
        lapicWrite(0, REG_TPR, 0x50);
        chip.deliverMsi(new MsiMessage(MsiMessage.ADDRESS_BASE, 0x45));
        assertThat(chip.hasPendingInterrupt(0)).isFalse();
        assertThat(lapicRead(0, REG_PPR)).isEqualTo(0x50);
        int before = kicks[0].get();
        chip.localApic(0).setCr8(3);
        assertThat(kicks[0].get()).isEqualTo(before + 1);
        assertThat(chip.acknowledge(0)).isEqualTo(0x45);
        chip.deliverMsi(new MsiMessage(MsiMessage.ADDRESS_BASE, 0x41)); // same class as in service
        assertThat(chip.hasPendingInterrupt(0)).isFalse();
        chip.deliverMsi(new MsiMessage(MsiMessage.ADDRESS_BASE, 0x61));
        assertThat(chip.acknowledge(0)).isEqualTo(0x61);
        chip.endOfInterrupt(0);
        chip.endOfInterrupt(0);
        assertThat(chip.acknowledge(0)).isEqualTo(0x41);
    }

    @Test
    void illegalVectorSetsErrorStatus() {
        chip.deliverMsi(new MsiMessage(MsiMessage.ADDRESS_BASE, 0x05));
        assertThat(chip.hasPendingInterrupt(0)).isFalse();
        lapicWrite(0, REG_ESR, 0);
        assertThat(lapicRead(0, REG_ESR)).isEqualTo(ESR_RECEIVE_ILLEGAL_VECTOR);
    }

    @Test
    void oneShotTimerCountsDownAndFiresOnce() {
        lapicWrite(0, REG_TIMER_DIVIDE, 0x3); // divide by 16
        lapicWrite(0, REG_LVT_TIMER, 0xEC);
        lapicWrite(0, REG_TIMER_INITIAL_COUNT, 1000);
        clock.advance(8_000);
        assertThat(lapicRead(0, REG_TIMER_CURRENT_COUNT)).isEqualTo(500);
        timers.runDue();
        assertThat(chip.hasPendingInterrupt(0)).isFalse();
        clock.advance(8_000);
        timers.runDue();
        assertThat(lapicRead(0, REG_TIMER_CURRENT_COUNT)).isZero();
        assertThat(chip.acknowledge(0)).isEqualTo(0xEC);
        chip.endOfInterrupt(0);
        clock.advance(100_000);
        timers.runDue();
        assertThat(chip.hasPendingInterrupt(0)).isFalse();
    }

    @Test
    void periodicTimerReloads() {
        lapicWrite(0, REG_TIMER_DIVIDE, 0xB); // divide by 1
        lapicWrite(0, REG_LVT_TIMER, LVT_TIMER_PERIODIC << 17 | 0xEF);
        lapicWrite(0, REG_TIMER_INITIAL_COUNT, 100_000);
        for (int i = 0; i < 3; i++) {
            clock.advance(100_000);
            timers.runDue();
            assertThat(chip.acknowledge(0)).isEqualTo(0xEF);
            chip.endOfInterrupt(0);
        }
        clock.advance(25_000);
        assertThat(lapicRead(0, REG_TIMER_CURRENT_COUNT)).isEqualTo(75_000);
        lapicWrite(0, REG_TIMER_INITIAL_COUNT, 0); // stops it
        clock.advance(1_000_000);
        timers.runDue();
        assertThat(chip.hasPendingInterrupt(0)).isFalse();
    }

    @Test
    void maskedTimerCountsButDoesNotInterrupt() {
        lapicWrite(0, REG_TIMER_DIVIDE, 0xB);
        lapicWrite(0, REG_LVT_TIMER, LVT_MASKED | 0xEC);
        lapicWrite(0, REG_TIMER_INITIAL_COUNT, 50);
        clock.advance(100);
        timers.runDue();
        assertThat(chip.hasPendingInterrupt(0)).isFalse();
        assertThat(lapicRead(0, REG_TIMER_CURRENT_COUNT)).isZero();
    }

    @Test
    void tscDeadlineTimerFiresAtTheDeadline() {
        lapicWrite(0, REG_LVT_TIMER, LVT_TIMER_TSC_DEADLINE << 17 | 0xEE);
        long nowTsc = clock.nanos() * 2; // 2 GHz TSC
        chip.writeMsr(0, MSR_IA32_TSC_DEADLINE, nowTsc + 10_000);
        assertThat(chip.readMsr(0, MSR_IA32_TSC_DEADLINE)).isEqualTo(nowTsc + 10_000);
        lapicWrite(0, REG_TIMER_INITIAL_COUNT, 5); // ignored in deadline mode
        clock.advance(4_999);
        timers.runDue();
        assertThat(chip.hasPendingInterrupt(0)).isFalse();
        clock.advance(1);
        timers.runDue();
        assertThat(chip.readMsr(0, MSR_IA32_TSC_DEADLINE)).isZero();
        assertThat(chip.acknowledge(0)).isEqualTo(0xEE);
        chip.endOfInterrupt(0);
        chip.writeMsr(0, MSR_IA32_TSC_DEADLINE, 1); // already past: fires at once
        assertThat(chip.acknowledge(0)).isEqualTo(0xEE);
    }

    @Test
    void fixedIpiAndStartupSequence() {
        lapicWrite(0, REG_ICR_HIGH, 1 << 24);
        lapicWrite(0, REG_ICR_LOW, 0x4000 | 0xFD);
        assertThat(lapicRead(0, REG_ICR_LOW) & 0x1000).isZero(); // delivery idle
        assertThat(chip.acknowledge(1)).isEqualTo(0xFD);
        assertThat(chip.hasPendingInterrupt(0)).isFalse();

        // Linux's wakeup_secondary_cpu_via_init: INIT assert, INIT de-assert, SIPI twice.
        lapicWrite(0, REG_ICR_HIGH, 1 << 24);
        lapicWrite(0, REG_ICR_LOW, 0xC500);
        lapicWrite(0, REG_ICR_LOW, 0x8500);
        assertThat(chip.takeInit(1)).isTrue();
        assertThat(chip.takeInit(1)).isFalse();
        assertThat(chip.takeInit(0)).isFalse();
        lapicWrite(0, REG_ICR_LOW, 0x0600 | 0x9A);
        assertThat(chip.takeSipi(1)).isEqualTo(0x9A);
        assertThat(chip.takeSipi(1)).isEqualTo(-1);
    }

    @Test
    void shorthandsSelectTargets() {
        lapicWrite(0, REG_ICR_LOW, 3 << 18 | 0x0400); // NMI to all excluding self
        assertThat(chip.takeNmi(1)).isTrue();
        assertThat(chip.takeNmi(0)).isFalse();
        lapicWrite(1, REG_ICR_LOW, 1 << 18 | 0xF0); // self
        assertThat(chip.acknowledge(1)).isEqualTo(0xF0);
        chip.endOfInterrupt(1);
        lapicWrite(1, REG_ICR_LOW, 2 << 18 | 0xF1); // all including self
        assertThat(chip.acknowledge(0)).isEqualTo(0xF1);
        assertThat(chip.hasPendingInterrupt(1)).isTrue();
    }

    @Test
    void picReachesTheBspThroughExtIntLint0() {
        pio.write(0, 0x20, 1, 0x11);
        pio.write(0, 0x21, 1, 0x30);
        pio.write(0, 0x21, 1, 0x04);
        pio.write(0, 0x21, 1, 0x01);
        pio.write(0, 0x21, 1, 0x00);
        chip.isaIrq(1).pulse(); // the I/O APIC pin stays masked
        assertThat(kicks[0].get()).isPositive();
        assertThat(chip.hasPendingInterrupt(1)).isFalse();
        assertThat(chip.hasPendingInterrupt(0)).isTrue();
        assertThat(chip.acknowledge(0)).isEqualTo(0x31);
        lapicWrite(0, REG_LVT_LINT0, LVT_MASKED | DELIVERY_EXTINT << 8);
        chip.isaIrq(3).pulse();
        assertThat(chip.hasPendingInterrupt(0)).isFalse();
    }

    @Test
    void softwareDisableMasksEveryLvt() {
        lapicWrite(0, REG_LVT_ERROR, 0xFE);
        lapicWrite(0, REG_SVR, 0xFF);
        assertThat(lapicRead(0, REG_LVT_ERROR) & LVT_MASKED).isNotZero();
        lapicWrite(0, REG_LVT_ERROR, 0xFE);
        assertThat(lapicRead(0, REG_LVT_ERROR) & LVT_MASKED).isNotZero();
    }

    @Test
    void stateRoundTripsIncludingAnArmedTimer() {
        lapicWrite(0, REG_TPR, 0x10);
        lapicWrite(0, REG_TIMER_DIVIDE, 0xB);
        lapicWrite(0, REG_LVT_TIMER, 0xEC);
        lapicWrite(0, REG_TIMER_INITIAL_COUNT, 1000);
        chip.deliverMsi(new MsiMessage(MsiMessage.ADDRESS_BASE, 0x33));
        LocalApicState saved = chip.localApic(0).save();

        UserspaceIrqChip other = new UserspaceIrqChip(2, timers, TSC_HZ);
        chip.localApic(0).initReset(); // the original goes quiet
        other.localApic(0).restore(saved);
        assertThat(other.localApic(0).read(REG_TPR, 4)).isEqualTo(0x10);
        assertThat(other.acknowledge(0)).isEqualTo(0x33);
        clock.advance(1000);
        timers.runDue();
        assertThat(other.acknowledge(0)).isEqualTo(0xEC);
        assertThat(chip.hasPendingInterrupt(0)).isFalse();
    }

    @Test
    void x2ApicRegistersAsMsrs() {
        assertThat(chip.handlesMsr(MSR_X2APIC_ICR)).isTrue();
        assertThat(chip.readMsr(1, MSR_X2APIC_ID)).isZero(); // not in x2APIC mode yet
        for (int vcpu = 0; vcpu < 2; vcpu++) {
            chip.writeMsr(vcpu, MSR_IA32_APIC_BASE, chip.readMsr(vcpu, MSR_IA32_APIC_BASE) | APIC_BASE_EXTD);
            chip.writeMsr(vcpu, MSR_X2APIC_FIRST + (REG_SVR >> 4), SVR_ENABLE | 0xFF);
        }
        assertThat(chip.readMsr(1, MSR_X2APIC_ID)).isEqualTo(1);
        assertThat(chip.readMsr(1, MSR_X2APIC_LDR)).isEqualTo(0x0000_0002L);
        assertThat(chip.readMsr(0, MSR_X2APIC_FIRST + (REG_VERSION >> 4))).isEqualTo(0x50014);

        chip.writeMsr(0, MSR_X2APIC_ICR, 1L << 32 | 0x4000 | 0xE1); // physical destination 1
        assertThat(chip.acknowledge(1)).isEqualTo(0xE1);
        chip.writeMsr(1, MSR_X2APIC_FIRST + (REG_EOI >> 4), 0);
        assertThat(chip.readMsr(1, MSR_X2APIC_FIRST + (REG_ISR >> 4) + 7)).isZero();

        chip.writeMsr(0, MSR_X2APIC_ICR, 0x0000_0003L << 32 | 0x800 | 0xE2); // cluster 0, APICs 0 and 1
        assertThat(chip.hasPendingInterrupt(0)).isTrue();
        assertThat(chip.hasPendingInterrupt(1)).isTrue();

        chip.writeMsr(1, MSR_X2APIC_FIRST + (REG_TPR >> 4), 0xF0);
        chip.writeMsr(1, MSR_X2APIC_SELF_IPI, 0x71);
        assertThat(chip.readMsr(1, MSR_X2APIC_FIRST + (REG_IRR >> 4) + 3)).isEqualTo(1L << 17);
        assertThat(chip.hasPendingInterrupt(1)).isFalse(); // held back by TPR 0xF0
    }

    @Test
    void initIpiResetsTheTargetApicButKeepsItsId() {
        lapicWrite(1, REG_TPR, 0x30);
        lapicWrite(1, REG_ID, 7 << 24);
        lapicWrite(0, REG_ICR_HIGH, 7 << 24);
        lapicWrite(0, REG_ICR_LOW, 0x4500);
        assertThat(chip.takeInit(1)).isTrue();
        assertThat(lapicRead(1, REG_TPR)).isZero();
        assertThat(lapicRead(1, REG_SVR) & SVR_ENABLE).isZero();
        assertThat(lapicRead(1, REG_ID) >>> 24).isEqualTo(7);
    }

    @Test
    void wholeChipStateRoundTrips() {
        redirect(10, IoApic.ENTRY_LEVEL | 0x3A);
        chip.isaIrq(10).set(true);
        assertThat(chip.acknowledge(0)).isEqualTo(0x3A);
        UserspaceIrqChipState saved = chip.save();
        UserspaceIrqChip other = new UserspaceIrqChip(2, new TimerQueue(clock), TSC_HZ);
        MmioBus otherMmio = new MmioBus();
        other.registerOn(new PioBus(), otherMmio);
        other.restore(saved);
        assertThat(other.save()).isEqualTo(saved);
        assertThat(other.ioApic().redirectionEntry(10) & IoApic.ENTRY_REMOTE_IRR).isNotZero();
        otherMmio.write(0, DEFAULT_BASE + REG_EOI, 4, 0);
        assertThat(other.acknowledge(0)).isEqualTo(0x3A); // still asserted: delivered again after EOI
    }
}
