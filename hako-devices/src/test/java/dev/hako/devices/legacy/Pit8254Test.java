package dev.hako.devices.legacy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.bus.PioBus;
import dev.hako.core.time.TimerQueue;
import dev.hako.testkit.ManualClock;
import dev.hako.testkit.RecordingIrqLine;
import org.junit.jupiter.api.Test;

class Pit8254Test {
    private final ManualClock clock = new ManualClock(123_456_789);
    private final TimerQueue timers = new TimerQueue(clock);
    private final RecordingIrqLine irq0 = new RecordingIrqLine();
    private final Pit8254 pit = new Pit8254(timers, irq0);
    private final PioBus bus = new PioBus();

    {
        bus.register(Pit8254.BASE_PORT, Pit8254.PORT_COUNT, pit);
        bus.register(Pit8254.PORT_B, 1, pit.portB());
    }

    private void out(int port, int v) {
        bus.write(0, port, 1, v);
    }

    private int in(int port) {
        return (int) bus.read(0, port, 1);
    }

    /** Advances guest time to exactly {@code ticks} PIT clocks after {@code startNanos}. */
    private void advanceToTick(long startNanos, long ticks) {
        clock.advance(startNanos + Pit8254.nanosFor(ticks) - clock.nanos());
        timers.runDue();
    }

    private int latchAndRead(int channel) {
        out(0x43, channel << 6);
        int lo = in(0x40 + channel);
        return lo | in(0x40 + channel) << 8;
    }

    @Test
    void tickConversionsAreInverse() {
        for (long t : new long[] {0, 1, 2, 11932, 65536, 1_193_182, 1_193_183, 987_654_321L}) {
            assertThat(Pit8254.ticksIn(Pit8254.nanosFor(t))).isEqualTo(t);
            assertThat(Pit8254.ticksIn(Pit8254.nanosFor(t) - 1)).isEqualTo(Math.max(t - 1, 0));
        }
    }

    @Test
    void mode2CountsDownAndInterruptsEveryPeriod() {
        out(0x43, 0x34); // channel 0, LSB then MSB, mode 2 (Linux's periodic PIT clockevent)
        out(0x40, 11932 & 0xFF);
        out(0x40, 11932 >> 8);
        long start = clock.nanos();
        advanceToTick(start, 5000);
        assertThat(latchAndRead(0)).isEqualTo(11932 - 5000);
        assertThat(irq0.risingEdges()).isZero();
        advanceToTick(start, 11931);
        assertThat(irq0.risingEdges()).isZero();
        advanceToTick(start, 11932);
        assertThat(irq0.risingEdges()).isEqualTo(1);
        assertThat(latchAndRead(0)).isEqualTo(11932); // reloaded
        advanceToTick(start, 2 * 11932);
        advanceToTick(start, 3 * 11932 + 10);
        assertThat(irq0.risingEdges()).isEqualTo(3);
        assertThat(latchAndRead(0)).isEqualTo(11932 - 10);
    }

    @Test
    void mode0InterruptsOnceAtTerminalCount() {
        out(0x43, 0x38); // Linux's one-shot PIT clockevent
        out(0x40, 100);
        out(0x40, 0);
        long start = clock.nanos();
        advanceToTick(start, 99);
        assertThat(irq0.risingEdges()).isZero();
        advanceToTick(start, 100);
        assertThat(irq0.risingEdges()).isEqualTo(1);
        advanceToTick(start, 1_000_000);
        assertThat(irq0.risingEdges()).isEqualTo(1);
    }

    @Test
    void controlWordStopsTheCounterUntilItsCountArrives() {
        out(0x43, 0x34);
        out(0x40, 0x00);
        out(0x40, 0x10);
        out(0x43, 0x30); // Linux's PIT shutdown: mode 0, no count yet
        clock.advanceMillis(100);
        timers.runDue();
        assertThat(irq0.risingEdges()).isZero();
    }

    /** arch/x86/kernel/tsc.c pit_calibrate_tsc(): gate 2 up, mode 0 for 50 ms, poll OUT2. */
    @Test
    void linuxTscCalibrationSeesOut2RiseAfterTheLatch() {
        out(0x61, (in(0x61) & ~0x02) | 0x01);
        out(0x43, 0xB0);
        int latch = (int) (Pit8254.FREQUENCY_HZ / 20);
        out(0x42, latch & 0xFF);
        out(0x42, latch >> 8);
        long start = clock.nanos();
        assertThat(in(0x61) & Pit8254.PORT_B_OUT2).isZero();
        advanceToTick(start, latch - 1);
        assertThat(in(0x61) & Pit8254.PORT_B_OUT2).isZero();
        advanceToTick(start, latch);
        assertThat(in(0x61) & Pit8254.PORT_B_OUT2).isNotZero();
        assertThat(irq0.risingEdges()).isZero(); // channel 2 has no IRQ
    }

    /** quick_pit_calibrate(): mode 0 from 0xFFFF, reading LSB then MSB without latching. */
    @Test
    void quickCalibrationReadsTheMsbFallingEvery256Clocks() {
        out(0x61, (in(0x61) & ~0x02) | 0x01);
        out(0x43, 0xB0);
        out(0x42, 0xFF);
        out(0x42, 0xFF);
        long start = clock.nanos();
        for (int expectedMsb = 0xFF; expectedMsb > 0xF0; expectedMsb--) {
            advanceToTick(start, 0xFFFF - (expectedMsb << 8 | 0x80));
            in(0x42);
            assertThat(in(0x42)).isEqualTo(expectedMsb);
        }
    }

    @Test
    void mode3SquareWaveOnOut2() {
        out(0x61, 0x01);
        out(0x43, 0xB6); // channel 2, mode 3 (the speaker's usual mode)
        out(0x42, 1000 & 0xFF);
        out(0x42, 1000 >> 8);
        long start = clock.nanos();
        advanceToTick(start, 100);
        assertThat(in(0x61) & Pit8254.PORT_B_OUT2).isNotZero();
        assertThat(latchAndRead(2)).isEqualTo(1000 - 200);
        advanceToTick(start, 600);
        assertThat(in(0x61) & Pit8254.PORT_B_OUT2).isZero();
        advanceToTick(start, 1001);
        assertThat(in(0x61) & Pit8254.PORT_B_OUT2).isNotZero();
    }

    @Test
    void gateRisingEdgeRestartsMode2() {
        out(0x61, 0x00);
        out(0x43, 0xB4); // channel 2, mode 2
        out(0x42, 0x00);
        out(0x42, 0x01); // 256
        long start = clock.nanos();
        advanceToTick(start, 100);
        out(0x61, 0x01);
        assertThat(latchAndRead(2)).isEqualTo(256);
    }

    @Test
    void readBackLatchesStatusThenCount() {
        out(0x43, 0x34);
        out(0x40, 0x00);
        out(0x40, 0x20); // 0x2000
        long start = clock.nanos();
        advanceToTick(start, 0x100);
        out(0x43, 0xC2); // read-back count and status of channel 0
        advanceToTick(start, 0x300); // the latched values do not move
        assertThat(in(0x40)).isEqualTo(0x80 | 0x30 | 2 << 1); // OUT high, LSB/MSB, mode 2
        assertThat(in(0x40)).isEqualTo(0x00);
        assertThat(in(0x40)).isEqualTo(0x1F);
        assertThat(latchAndRead(0)).isEqualTo(0x2000 - 0x300);
    }

    @Test
    void lsbOnlyAndMsbOnlyAccess() {
        out(0x43, 0x54); // channel 1, LSB only, mode 2
        out(0x41, 200);
        long start = clock.nanos();
        advanceToTick(start, 50);
        assertThat(in(0x41)).isEqualTo(150);
        out(0x43, 0x64); // channel 1, MSB only, mode 2
        out(0x41, 0x02); // 0x200
        start = clock.nanos();
        advanceToTick(start, 0x80);
        assertThat(in(0x41)).isEqualTo(0x01);
    }

    @Test
    void bcdCounting() {
        out(0x43, 0x35); // mode 2, BCD
        out(0x40, 0x00);
        out(0x40, 0x10); // 1000 decimal
        long start = clock.nanos();
        advanceToTick(start, 250);
        assertThat(latchAndRead(0)).isEqualTo(0x0750);
        advanceToTick(start, 1000);
        assertThat(irq0.risingEdges()).isEqualTo(1);
    }

    @Test
    void refreshBitToggles() {
        int first = in(0x61) & Pit8254.PORT_B_REFRESH;
        clock.advance(15_085);
        assertThat(in(0x61) & Pit8254.PORT_B_REFRESH).isNotEqualTo(first);
    }

    @Test
    void snapshotKeepsThePeriodicInterruptGoing() {
        out(0x43, 0x34);
        out(0x40, 11932 & 0xFF);
        out(0x40, 11932 >> 8);
        long start = clock.nanos();
        advanceToTick(start, 6000);
        Pit8254State saved = pit.save();
        RecordingIrqLine otherIrq = new RecordingIrqLine();
        TimerQueue otherTimers = new TimerQueue(clock);
        Pit8254 copy = new Pit8254(otherTimers, otherIrq);
        copy.restore(saved);
        assertThat(copy.save()).isEqualTo(saved);
        clock.advance(start + Pit8254.nanosFor(2 * 11932) - clock.nanos());
        otherTimers.runDue();
        assertThat(otherIrq.risingEdges()).isEqualTo(1); // the late host skips, it does not burst
        copy.write(0, 3, 1, 0x00);
        assertThat(copy.read(0, 0, 1) | copy.read(0, 0, 1) << 8).isEqualTo(11932);
    }
}
