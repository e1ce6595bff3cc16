package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The watchdog's rule, sample by sample: only interrupts off, no HLT and no I/O for the limit is stuck. */
class VcpuProgressTest {
    private static final long SECOND = 1_000_000_000L;
    private final VcpuProgress progress = new VcpuProgress(10 * SECOND);

    @Test
    void stuckOnlyAfterTheLimitOfCpuTimeWithoutProgress() {
        assertThat(progress.sample(false, false, 5, 0)).isFalse(); // first sample: a baseline
        assertThat(progress.sample(false, false, 5, SECOND)).isFalse();
        assertThat(progress.sample(false, false, 5, 10 * SECOND)).isFalse();
        assertThat(progress.sample(false, false, 5, 11 * SECOND)).isTrue();
        assertThat(progress.reason()).contains("no progress for 10.0 s of CPU time");
    }

    @Test
    void anyDeviceAccessInterruptsOnOrHaltStartsTheCountAgain() {
        progress.sample(false, false, 0, 0);
        progress.sample(false, false, 0, SECOND);
        assertThat(progress.sample(false, false, 1, 9 * SECOND)).as("an I/O access").isFalse();
        assertThat(progress.sample(false, false, 1, 18 * SECOND)).isFalse();
        assertThat(progress.sample(true, false, 1, 30 * SECOND)).as("interrupts on").isFalse();
        assertThat(progress.sample(false, false, 1, 31 * SECOND)).isFalse();
        progress.halted();
        assertThat(progress.sample(false, false, 1, 45 * SECOND)).as("halted since").isFalse();
        assertThat(progress.sample(false, true, 1, 60 * SECOND)).as("halted now").isFalse();
        progress.idle();
        assertThat(progress.sample(false, false, 1, 65 * SECOND)).as("idle").isFalse();
        assertThat(progress.sample(false, false, 1, 74 * SECOND)).isFalse();
        assertThat(progress.sample(false, false, 1, 75 * SECOND)).isTrue();
    }

    @Test
    void aRequestIsAnsweredOnce() {
        progress.request();
        assertThat(progress.requested()).isTrue();
        progress.sample(true, false, 0, 0);
        assertThat(progress.requested()).isFalse();
        progress.request();
        progress.idle();
        assertThat(progress.requested()).isFalse();
    }
}
