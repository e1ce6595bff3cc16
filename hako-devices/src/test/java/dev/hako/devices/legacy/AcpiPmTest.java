package dev.hako.devices.legacy;

import static dev.hako.devices.legacy.AcpiPm.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.bus.PioBus;
import dev.hako.core.time.TimerQueue;
import dev.hako.testkit.ManualClock;
import dev.hako.testkit.RecordingIrqLine;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class AcpiPmTest {
    private static final int S5 = 5;

    private final ManualClock clock = new ManualClock();
    private final TimerQueue timers = new TimerQueue(clock);
    private final RecordingIrqLine sci = new RecordingIrqLine();
    private final AtomicInteger powerOffs = new AtomicInteger();
    private final AtomicInteger resets = new AtomicInteger();
    private final PioBus bus = new PioBus();
    private AcpiPm pm = build(false);

    private AcpiPm build(boolean timer32Bit) {
        AcpiPm device = new AcpiPm(timers, sci, S5, timer32Bit, false, 4, powerOffs::incrementAndGet,
                resets::incrementAndGet);
        for (int port : new int[] {DEFAULT_PM1A_EVENT_PORT, DEFAULT_PM1A_CONTROL_PORT, DEFAULT_PM_TIMER_PORT,
                DEFAULT_GPE0_PORT, DEFAULT_SMI_COMMAND_PORT, RESET_PORT}) {
            bus.unregister(port, 4);
        }
        bus.register(DEFAULT_PM1A_EVENT_PORT, PM1_EVENT_LENGTH, device.eventBlock());
        bus.register(DEFAULT_PM1A_CONTROL_PORT, PM1_CONTROL_LENGTH, device.controlBlock());
        bus.register(DEFAULT_PM_TIMER_PORT, PM_TIMER_LENGTH, device.timerBlock());
        bus.register(DEFAULT_GPE0_PORT, 4, device.gpe0Block());
        bus.register(DEFAULT_SMI_COMMAND_PORT, 1, device.smiCommand());
        bus.register(RESET_PORT, 1, device.resetRegister());
        return device;
    }

    private long timer() {
        return bus.read(0, DEFAULT_PM_TIMER_PORT, 4);
    }

    private void enableAcpi() {
        bus.write(0, DEFAULT_SMI_COMMAND_PORT, 1, SMI_ACPI_ENABLE);
    }

    @Test
    void pmTimerRunsAt3579545HzAndWrapsAt24Bits() {
        clock.advanceMillis(1000);
        assertThat(timer()).isEqualTo(TIMER_HZ);
        clock.advanceMillis(4000); // 5 s = 17.9M ticks, past 2^24
        assertThat(timer()).isEqualTo(5 * TIMER_HZ & 0xFF_FFFF);
        pm = build(true);
        assertThat(timer()).isEqualTo(5 * TIMER_HZ);
    }

    @Test
    void smiCommandSwitchesAcpiModeOn() {
        assertThat(bus.read(0, DEFAULT_PM1A_CONTROL_PORT, 2) & CNT_SCI_EN).isZero();
        enableAcpi();
        assertThat(bus.read(0, DEFAULT_PM1A_CONTROL_PORT, 2) & CNT_SCI_EN).isEqualTo(CNT_SCI_EN);
        bus.write(0, DEFAULT_SMI_COMMAND_PORT, 1, SMI_ACPI_DISABLE);
        assertThat(bus.read(0, DEFAULT_PM1A_CONTROL_PORT, 2) & CNT_SCI_EN).isZero();
    }

    /** acpi_hw_legacy_sleep(): write SLP_TYP, then SLP_TYP with SLP_EN. */
    @Test
    void enteringS5PowersOff() {
        enableAcpi();
        int cnt = (int) bus.read(0, DEFAULT_PM1A_CONTROL_PORT, 2) & ~(7 << CNT_SLP_TYP_SHIFT);
        cnt |= S5 << CNT_SLP_TYP_SHIFT;
        bus.write(0, DEFAULT_PM1A_CONTROL_PORT, 2, cnt);
        assertThat(powerOffs.get()).isZero();
        bus.write(0, DEFAULT_PM1A_CONTROL_PORT, 2, cnt | CNT_SLP_EN);
        assertThat(powerOffs.get()).isEqualTo(1);
        assertThat(bus.read(0, DEFAULT_PM1A_CONTROL_PORT, 2) & CNT_SLP_EN).isZero(); // write-only
    }

    @Test
    void otherSleepStatesWakeAtOnce() {
        enableAcpi();
        bus.write(0, DEFAULT_PM1A_CONTROL_PORT, 2, CNT_SCI_EN | 1 << CNT_SLP_TYP_SHIFT | CNT_SLP_EN);
        assertThat(powerOffs.get()).isZero();
        assertThat(bus.read(0, DEFAULT_PM1A_EVENT_PORT, 2) & STS_WAK).isEqualTo(STS_WAK);
        bus.write(0, DEFAULT_PM1A_EVENT_PORT, 2, STS_WAK);
        assertThat(bus.read(0, DEFAULT_PM1A_EVENT_PORT, 2) & STS_WAK).isZero();
    }

    @Test
    void powerButtonRaisesSciWhenEnabled() {
        pm.pressPowerButton();
        assertThat(sci.level()).isFalse(); // not in ACPI mode, not enabled
        enableAcpi();
        assertThat(sci.level()).isFalse();
        bus.write(0, DEFAULT_PM1A_EVENT_PORT + 2, 2, STS_PWRBTN);
        assertThat(sci.level()).isTrue();
        assertThat(bus.read(0, DEFAULT_PM1A_EVENT_PORT, 4) >>> 16).isEqualTo(STS_PWRBTN);
        bus.write(0, DEFAULT_PM1A_EVENT_PORT, 2, STS_PWRBTN);
        assertThat(sci.level()).isFalse();
    }

    @Test
    void timerStatusOnTopBitToggleInterruptsWhenEnabled() {
        enableAcpi();
        bus.write(0, DEFAULT_PM1A_EVENT_PORT + 2, 2, STS_TMR);
        long toggleNanos = Math.ceilDiv((1L << 23) * 1_000_000_000L, TIMER_HZ);
        clock.advance(toggleNanos - 1);
        timers.runDue();
        assertThat(sci.level()).isFalse();
        clock.advance(1);
        timers.runDue();
        assertThat(sci.level()).isTrue();
        assertThat(bus.read(0, DEFAULT_PM1A_EVENT_PORT, 2) & STS_TMR).isEqualTo(STS_TMR);
        bus.write(0, DEFAULT_PM1A_EVENT_PORT, 2, STS_TMR);
        assertThat(sci.level()).isFalse();
        clock.advance(toggleNanos);
        timers.runDue();
        assertThat(sci.level()).isTrue();
    }

    @Test
    void resetRegisterResetsOnRstCpu() {
        bus.write(0, RESET_PORT, 1, 0x02);
        assertThat(resets.get()).isZero();
        bus.write(0, RESET_PORT, 1, 0x06);
        assertThat(resets.get()).isEqualTo(1);
    }

    @Test
    void gpeBlockKeepsEnablesAndHasNoEvents() {
        bus.write(0, DEFAULT_GPE0_PORT + 2, 2, 0xFFFF);
        assertThat(bus.read(0, DEFAULT_GPE0_PORT, 4)).isEqualTo(0xFFFF_0000L);
        bus.write(0, DEFAULT_GPE0_PORT, 2, 0xFFFF);
        assertThat(bus.read(0, DEFAULT_GPE0_PORT, 2)).isZero();
    }

    @Test
    void stateRoundTrips() {
        enableAcpi();
        bus.write(0, DEFAULT_PM1A_EVENT_PORT + 2, 2, STS_PWRBTN);
        pm.pressPowerButton();
        AcpiPmState saved = pm.save();
        RecordingIrqLine otherSci = new RecordingIrqLine();
        AcpiPm copy = new AcpiPm(timers, otherSci, S5, false, false, 4, () -> {
        }, () -> {
        });
        copy.restore(saved);
        assertThat(copy.save()).isEqualTo(saved);
        assertThat(otherSci.level()).isTrue();
        assertThat(copy.controlBlock().read(0, 0, 2) & CNT_SCI_EN).isEqualTo(CNT_SCI_EN);
    }
}
