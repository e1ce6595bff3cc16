package dev.hako.core.time;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The clock's saved guest time: a paused clock takes it and runs on from there; a running one refuses it. */
class NanoTimeClockTest {
    @Test
    void aRestoredClockGoesOnFromTheSavedTime() throws Exception {
        NanoTimeClock clock = new NanoTimeClock();
        clock.pause();
        long saved = 5_000_000_000L;
        clock.restore(new ClockState(ClockState.VERSION, saved));
        assertThat(clock.nanos()).isEqualTo(saved);
        assertThat(clock.save()).isEqualTo(new ClockState(ClockState.VERSION, saved));
        clock.resume();
        Thread.sleep(5);
        assertThat(clock.nanos()).isBetween(saved + 5_000_000, saved + 5_000_000_000L);

        assertThatThrownBy(() -> clock.restore(new ClockState(ClockState.VERSION, 1)))
                .isInstanceOf(IllegalStateException.class);
        clock.pause();
        assertThatThrownBy(() -> clock.restore(new ClockState(2, 1))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> clock.restore(new ClockState(ClockState.VERSION, -1)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
