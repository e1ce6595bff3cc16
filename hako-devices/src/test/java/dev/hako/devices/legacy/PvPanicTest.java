package dev.hako.devices.legacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PvPanicTest {
    private int panics;
    private int crashKernels;
    private final PvPanic device = new PvPanic(() -> panics++, () -> crashKernels++);

    @Test
    void readGivesTheRecognizedEvents() {
        assertThat(device.read(0, 0, 1)).isEqualTo(PvPanic.PANICKED | PvPanic.CRASH_LOADED).isEqualTo(3);
    }

    @Test
    void panickedCallsThePanicCallback() {
        device.write(0, 0, 1, PvPanic.PANICKED);
        assertThat(panics).isEqualTo(1);
        assertThat(crashKernels).isZero();
        assertThat(device.reported()).isEqualTo(PvPanic.PANICKED);
    }

    @Test
    void crashLoadedIsReportedOnceAndTheGuestRunsOn() {
        device.write(0, 0, 1, PvPanic.CRASH_LOADED);
        device.write(0, 0, 1, PvPanic.CRASH_LOADED);
        assertThat(crashKernels).isEqualTo(1);
        assertThat(panics).isZero();
    }

    @Test
    void unrecognizedBitsAreIgnored() {
        device.write(0, 0, 1, 0xFC);
        device.write(0, 0, 4, 0xFFFF_FF00L);
        assertThat(panics + crashKernels).isZero();
        assertThat(device.reported()).isZero();
    }

    @Test
    void stateRoundTripsAndRejectsUnknownEvents() {
        device.write(0, 0, 1, PvPanic.CRASH_LOADED);
        PvPanic fresh = new PvPanic(() -> { }, () -> { });
        fresh.restore(device.save());
        assertThat(fresh.save()).isEqualTo(device.save());
        assertThatThrownBy(() -> fresh.restore(new PvPanicState(PvPanicState.VERSION, 4)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> fresh.restore(new PvPanicState(2, 0))).isInstanceOf(IllegalArgumentException.class);
    }
}
