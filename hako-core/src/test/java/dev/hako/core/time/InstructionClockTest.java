package dev.hako.core.time;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class InstructionClockTest {
    private long retired;

    private InstructionClock clock(long nanosPerInstruction) {
        InstructionClock clock = new InstructionClock(nanosPerInstruction);
        clock.countFrom(() -> retired);
        return clock;
    }

    @Test
    void guestTimeIsRetiredInstructionsTimesTheRate() {
        InstructionClock clock = clock(3);
        assertThat(clock.nanos()).isZero();
        retired = 1_000;
        assertThat(clock.nanos()).isEqualTo(3_000);
        assertThat(clock.instructionsAt(3_000)).as("due now").isEqualTo(1_000);
        assertThat(clock.instructionsAt(3_001)).as("rounded up: never before it is due").isEqualTo(1_001);
        assertThat(clock.instructionsAt(10)).as("past").isEqualTo(1_000);
        assertThat(clock.instructionsAt(Long.MAX_VALUE)).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void aVcpuAttachedLaterGoesOnFromTheTimeThen() {
        InstructionClock clock = new InstructionClock();
        retired = 500; // counted before the clock knew the vCPU: not guest time
        clock.countFrom(() -> retired);
        assertThat(clock.nanos()).isZero();
        retired = 600;
        assertThat(clock.nanos()).isEqualTo(100);
    }

    @Test
    void timersRunWhenTheVcpuReachesTheirDeadlineAndTheEarliestIsReported() {
        InstructionClock clock = clock(1);
        List<Long> reported = new ArrayList<>();
        clock.onEarlierDeadline(reported::add);
        List<Long> ran = new ArrayList<>();
        TimerQueue.Timer late = clock.timers().newTimer(() -> ran.add(retired));
        TimerQueue.Timer early = clock.timers().newTimer(() -> ran.add(-retired));
        late.arm(2_000);
        early.arm(700);
        late.arm(2_500); // re-armed later: not the earliest, nothing to report
        assertThat(reported).containsExactly(2_000L, 700L);
        assertThat(clock.deadlineInstructions()).isEqualTo(700);

        retired = 699;
        assertThat(clock.runDue()).isEqualTo(700);
        assertThat(ran).isEmpty();
        retired = 702;
        assertThat(clock.runDue()).isEqualTo(2_500);
        assertThat(ran).containsExactly(-702L);
    }

    @Test
    void aHaltSkipsGuestTimeToTheNextDeadline() {
        InstructionClock clock = clock(1);
        List<Long> ran = new ArrayList<>();
        clock.timers().newTimer(() -> ran.add(clock.nanos())).arm(1_000_000);
        retired = 10;
        assertThat(clock.skipToNextDeadline()).isTrue();
        assertThat(ran).containsExactly(1_000_000L);
        assertThat(clock.nanos()).isEqualTo(1_000_000);
        retired = 15;
        assertThat(clock.nanos()).as("time goes on from there").isEqualTo(1_000_005);
        assertThat(clock.skipToNextDeadline()).as("nothing armed: only the host can wake it").isFalse();
        assertThat(clock.nanos()).isEqualTo(1_000_005);
    }

    @Test
    void pausedTimeStandsStillAndARestoreSetsIt() {
        InstructionClock clock = clock(1);
        retired = 100;
        clock.pause();
        retired = 150; // cannot happen while paused, but must not show
        assertThat(clock.nanos()).isEqualTo(100);
        clock.restore(new ClockState(ClockState.VERSION, 5_000));
        clock.resume();
        assertThat(clock.nanos()).isEqualTo(5_000);
        retired = 160;
        assertThat(clock.nanos()).isEqualTo(5_010);
        assertThatThrownBy(() -> clock.restore(new ClockState(ClockState.VERSION, 1)))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void theRateIsAtLeastOneNanosecond() {
        assertThatThrownBy(() -> new InstructionClock(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
