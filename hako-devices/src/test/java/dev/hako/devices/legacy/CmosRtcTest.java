package dev.hako.devices.legacy;

import static dev.hako.devices.legacy.CmosRtc.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.bus.PioBus;
import dev.hako.core.time.TimerQueue;
import dev.hako.testkit.ManualClock;
import dev.hako.testkit.RecordingIrqLine;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class CmosRtcTest {
    private static final long LEAP_DAY_ALMOST_MIDNIGHT =
            LocalDateTime.of(2024, 2, 29, 23, 59, 58).toInstant(ZoneOffset.UTC).toEpochMilli();

    private final ManualClock clock = new ManualClock(5_000_000_000L);
    private final TimerQueue timers = new TimerQueue(clock);
    private final RecordingIrqLine irq8 = new RecordingIrqLine();
    private final PioBus bus = new PioBus();
    private CmosRtc rtc = attach(new CmosRtc(timers, irq8, LEAP_DAY_ALMOST_MIDNIGHT));

    private CmosRtc attach(CmosRtc device) {
        bus.unregister(BASE_PORT, PORT_COUNT);
        bus.register(BASE_PORT, PORT_COUNT, device);
        return device;
    }

    private int cmos(int reg) {
        bus.write(0, 0x70, 1, reg);
        return (int) bus.read(0, 0x71, 1);
    }

    private void cmos(int reg, int value) {
        bus.write(0, 0x70, 1, reg);
        bus.write(0, 0x71, 1, value);
    }

    private void advance(long nanos) {
        clock.advance(nanos);
        timers.runDue();
    }

    @Test
    void bcdTwentyFourHourTimeAcrossALeapDay() {
        assertThat(cmos(REG_SECONDS)).isEqualTo(0x58);
        assertThat(cmos(REG_MINUTES)).isEqualTo(0x59);
        assertThat(cmos(REG_HOURS)).isEqualTo(0x23);
        assertThat(cmos(REG_DAY_OF_WEEK)).isEqualTo(5); // Thursday
        assertThat(cmos(REG_DAY_OF_MONTH)).isEqualTo(0x29);
        assertThat(cmos(REG_MONTH)).isEqualTo(0x02);
        assertThat(cmos(REG_YEAR)).isEqualTo(0x24);
        assertThat(cmos(REG_CENTURY)).isEqualTo(0x20);
        advance(2_000_000_000L);
        assertThat(cmos(REG_SECONDS)).isZero();
        assertThat(cmos(REG_HOURS)).isZero();
        assertThat(cmos(REG_DAY_OF_MONTH)).isEqualTo(0x01);
        assertThat(cmos(REG_MONTH)).isEqualTo(0x03);
        assertThat(cmos(REG_DAY_OF_WEEK)).isEqualTo(6);
    }

    @Test
    void binaryTwelveHourMode() {
        cmos(REG_B, B_BINARY);
        assertThat(cmos(REG_HOURS)).isEqualTo(0x80 | 11);
        assertThat(cmos(REG_SECONDS)).isEqualTo(58);
        assertThat(cmos(REG_YEAR)).isEqualTo(24);
        advance(2_000_000_000L);
        assertThat(cmos(REG_HOURS)).isEqualTo(12); // midnight is 12 AM
    }

    /** What Linux's mc146818_get_time() does, compared with the host's own clock. */
    @Test
    void hostClockTimeMatchesTheHost() {
        rtc = attach(CmosRtc.fromHostClock(timers, irq8));
        while ((cmos(REG_A) & A_UIP) != 0) {
            clock.advance(1_000);
        }
        LocalDateTime fromRtc = LocalDateTime.of(
                bcd(cmos(REG_CENTURY)) * 100 + bcd(cmos(REG_YEAR)), bcd(cmos(REG_MONTH)), bcd(cmos(REG_DAY_OF_MONTH)),
                bcd(cmos(REG_HOURS)), bcd(cmos(REG_MINUTES)), bcd(cmos(REG_SECONDS)));
        LocalDateTime host = LocalDateTime.now(ZoneOffset.UTC);
        assertThat(Duration.between(fromRtc, host).abs()).isLessThan(Duration.ofSeconds(3));
        assertThat(cmos(REG_DAY_OF_WEEK)).isEqualTo(fromRtc.getDayOfWeek().getValue() % 7 + 1);
    }

    private static int bcd(int v) {
        return (v >> 4) * 10 + (v & 0xF);
    }

    @Test
    void updateInProgressDuringTheLast244Microseconds() {
        assertThat(cmos(REG_A) & A_UIP).isZero();
        clock.advance(999_700_000);
        assertThat(cmos(REG_A) & A_UIP).isZero();
        clock.advance(100_000);
        assertThat(cmos(REG_A) & A_UIP).isEqualTo(A_UIP);
        clock.advance(300_000);
        assertThat(cmos(REG_A) & A_UIP).isZero();
        assertThat(cmos(REG_A) & 0x7F).isEqualTo(0x26);
        assertThat(cmos(REG_D)).isEqualTo(D_VRT);
    }

    @Test
    void guestSetsTheTimeWithTheSetBit() {
        cmos(REG_B, B_24_HOUR | B_SET);
        cmos(REG_SECONDS, 0x00);
        cmos(REG_MINUTES, 0x30);
        cmos(REG_HOURS, 0x07);
        cmos(REG_DAY_OF_MONTH, 0x15);
        cmos(REG_MONTH, 0x06);
        cmos(REG_YEAR, 0x31);
        clock.advance(5_000_000_000L);
        assertThat(cmos(REG_SECONDS)).isZero(); // halted while SET
        cmos(REG_B, B_24_HOUR);
        clock.advance(1_500_000_000L);
        assertThat(cmos(REG_SECONDS)).isEqualTo(0x01);
        assertThat(cmos(REG_MINUTES)).isEqualTo(0x30);
        assertThat(cmos(REG_YEAR)).isEqualTo(0x31);
        assertThat(rtc.wallNanos() / 1_000_000).isEqualTo(
                LocalDateTime.of(2031, 6, 15, 7, 30, 1, 500_000_000).toInstant(ZoneOffset.UTC).toEpochMilli());
    }

    @Test
    void writingATimeRegisterWhileRunningMovesTheClock() {
        cmos(REG_MINUTES, 0x10);
        assertThat(cmos(REG_MINUTES)).isEqualTo(0x10);
        assertThat(cmos(REG_HOURS)).isEqualTo(0x23);
        assertThat(cmos(REG_SECONDS)).isEqualTo(0x58);
    }

    @Test
    void periodicInterruptAt1024HzUntilRegisterCIsRead() {
        cmos(REG_B, B_24_HOUR | B_PIE);
        advance(976_561);
        assertThat(irq8.level()).isFalse();
        advance(1);
        assertThat(irq8.level()).isTrue();
        assertThat(cmos(REG_C)).isEqualTo(C_IRQF | C_PF);
        assertThat(irq8.level()).isFalse();
        assertThat(cmos(REG_C)).isZero();
        advance(976_563);
        assertThat(irq8.risingEdges()).isEqualTo(2);
        cmos(REG_B, B_24_HOUR);
        cmos(REG_C);
        advance(100_000_000);
        assertThat(irq8.level()).isFalse();
    }

    @Test
    void updateEndedAndAlarmInterrupts() {
        cmos(REG_SECONDS_ALARM, 0x59);
        cmos(REG_MINUTES_ALARM, 0xFF); // don't care
        cmos(REG_HOURS_ALARM, 0xC0);
        cmos(REG_B, B_24_HOUR | B_UIE);
        advance(999_000_000);
        assertThat(irq8.level()).isFalse();
        advance(1_000_000);
        assertThat(irq8.level()).isTrue(); // 23:59:59 reached
        assertThat(cmos(REG_C)).isEqualTo(C_IRQF | C_UF | C_AF);
        cmos(REG_B, B_24_HOUR | B_AIE);
        advance(1_000_000_000L);
        assertThat(irq8.level()).isFalse(); // 00:00:00 is no alarm match
        assertThat(cmos(REG_C)).isEqualTo(C_UF); // flags are set, only enabled ones interrupt
    }

    @Test
    void indexPortCarriesTheNmiMask() {
        bus.write(0, 0x70, 1, 0x80 | 0x0F);
        assertThat(rtc.nmiDisabled()).isTrue();
        bus.write(0, 0x71, 1, 0x0A);
        bus.write(0, 0x70, 1, 0x0F);
        assertThat(rtc.nmiDisabled()).isFalse();
        assertThat(bus.read(0, 0x71, 1)).isEqualTo(0x0A);
        assertThat(bus.read(0, 0x70, 1)).isEqualTo(0xFF);
    }

    @Test
    void memorySizeBytesForTheBios() {
        rtc.setMemorySize(512L << 20, 2L << 30);
        assertThat(cmos(0x15) | cmos(0x16) << 8).isEqualTo(640);
        assertThat(cmos(0x30) | cmos(0x31) << 8).isEqualTo(0xFFFF);
        assertThat(cmos(0x34) | cmos(0x35) << 8).isEqualTo((512 - 16) * 16);
        assertThat(cmos(0x5B) | cmos(0x5C) << 8 | cmos(0x5D) << 16).isEqualTo(0x8000);
        rtc.setMemorySize(8L << 20, 0);
        assertThat(cmos(0x17) | cmos(0x18) << 8).isEqualTo(7 * 1024);
        assertThat(cmos(0x34) | cmos(0x35) << 8).isZero();
    }

    @Test
    void ramBytesKeepWhatIsWritten() {
        for (int reg = 0x0E; reg < 0x80; reg++) {
            if (reg != REG_CENTURY) {
                cmos(reg, reg ^ 0x5A);
            }
        }
        for (int reg = 0x0E; reg < 0x80; reg++) {
            if (reg != REG_CENTURY) {
                assertThat(cmos(reg)).isEqualTo(reg ^ 0x5A);
            }
        }
    }

    @Test
    void stateRoundTrips() {
        cmos(0x40, 0x99);
        cmos(REG_B, B_24_HOUR | B_BINARY);
        CmosRtcState saved = rtc.save();
        CmosRtc copy = new CmosRtc(timers, irq8, 0);
        copy.restore(saved);
        assertThat(copy.save()).isEqualTo(saved);
        rtc = attach(copy);
        assertThat(cmos(0x40)).isEqualTo(0x99);
        assertThat(cmos(REG_HOURS)).isEqualTo(23);
    }
}
