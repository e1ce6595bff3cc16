package dev.hako.vmm.sched;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hako.testkit.ManualClock;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The dispatcher's arithmetic and decisions, driven by hand: a manual clock, and vCPU "threads" whose CPU time
 * the test sets. No thread runs; {@link CpuScheduler#dispatch} is called where the dispatcher thread would.
 */
class CpuSchedulerTest {
    private static final long MS = 1_000_000, WINDOW = CpuScheduler.WINDOW_NANOS;

    private final ManualClock clock = new ManualClock(1_000 * MS);
    private final Map<ScheduledVcpu, Long> cpu = new HashMap<>();

    private CpuScheduler scheduler(int cores) {
        return new CpuScheduler(cores, clock::nanos, v -> cpu.getOrDefault(v, -1L), false);
    }

    /** The vCPU's thread started (tid 1, as the test's CPU clock ignores it) with no CPU time used. */
    private ScheduledVcpu start(Partition p, int index) {
        ScheduledVcpu v = p.vcpu(index);
        v.running(null, 1);
        cpu.put(v, 0L);
        return v;
    }

    private void use(ScheduledVcpu v, long nanos) {
        cpu.merge(v, nanos, Long::sum);
    }

    @Test
    void aCappedVcpuIsThrottledWhenItsBudgetIsSpentAndRunsAgainNextWindow() throws Exception {
        CpuScheduler s = scheduler(2);
        Partition p = s.admit("a", 1, CpuEntitlement.ofCores(0.30, true, 128));
        ScheduledVcpu v = start(p, 0);
        long next = s.dispatch(); // the first window: budget 3 ms
        assertThat(v.budget).isEqualTo(3 * MS);
        assertThat(next - clock.nanos()).isEqualTo(3 * MS); // the earliest it could have spent it
        clock.advance(2 * MS);
        use(v, 2 * MS);
        assertThat(s.dispatch() - clock.nanos()).isEqualTo(MS);
        assertThat(v.throttled()).isFalse();
        clock.advance(MS);
        use(v, MS);
        s.dispatch();
        assertThat(v.throttled()).isTrue();
        clock.advance(WINDOW - 3 * MS);
        s.dispatch();
        assertThat(v.throttled()).isFalse();
        assertThat(p.throttledCount()).isEqualTo(1);
    }

    @Test
    void anOverrunIsPaidBackInTheNextWindow() throws Exception {
        CpuScheduler s = scheduler(1);
        Partition p = s.admit("a", 1, CpuEntitlement.ofCores(0.30, true, 128));
        ScheduledVcpu v = start(p, 0);
        s.dispatch();
        clock.advance(4 * MS); // the dispatcher woke a millisecond late
        use(v, 4 * MS);
        s.dispatch();
        assertThat(v.throttled()).isTrue();
        clock.advance(WINDOW - 4 * MS);
        s.dispatch();
        assertThat(v.budget).isEqualTo(2 * MS);
    }

    @Test
    void anOverrunLongerThanAWindowIsPaidBackOverSeveral() throws Exception {
        CpuScheduler s = scheduler(1);
        Partition p = s.admit("a", 1, CpuEntitlement.ofCores(0.30, true, 128));
        ScheduledVcpu v = start(p, 0);
        s.dispatch();
        clock.advance(WINDOW - MS); // the dispatcher stalled and the vCPU ran on for 9 ms: 6 ms over
        use(v, WINDOW - MS);
        clock.advance(MS);
        s.dispatch();
        assertThat(v.budget).isZero();
        use(v, MS / 2); // a kick takes a moment
        clock.advance(WINDOW);
        s.dispatch();
        assertThat(v.budget).isEqualTo(0); // 3 ms of the 6 paid; another half as it landed late
        clock.advance(WINDOW);
        s.dispatch();
        assertThat(v.budget).isEqualTo(2 * MS + MS / 2);
        clock.advance(WINDOW);
        s.dispatch();
        assertThat(v.budget).isEqualTo(3 * MS);
    }

    @Test
    void aHaltedVcpuSpendsNothingAndItsIdleEntitlementGoesToTheBusy() throws Exception {
        CpuScheduler s = scheduler(1);
        Partition idle = s.admit("idle", 1, CpuEntitlement.ofCores(0.50, false, 128));
        Partition busy = s.admit("busy", 1, CpuEntitlement.ofCores(0.20, false, 128));
        ScheduledVcpu i = start(idle, 0);
        ScheduledVcpu b = start(busy, 0);
        s.dispatch(); // no history: both hungry, spare 0.30 shared 1:1
        assertThat(i.budget).isEqualTo(5 * MS + 3 * MS / 2);
        assertThat(b.budget).isEqualTo(2 * MS + 3 * MS / 2);
        use(b, b.budget);
        clock.advance(WINDOW);
        s.dispatch(); // idle used nothing: its entitlement is guaranteed but the spare is 0.80, all for busy
        assertThat(i.budget).isEqualTo(5 * MS);
        assertThat(b.budget).isEqualTo(WINDOW);
        assertThat(i.throttled()).isFalse();
    }

    @Test
    void vcpusAsleepInHltAreReadOnceAndThenTheDispatcherRestsUntilOneWakes() throws Exception {
        Map<ScheduledVcpu, Integer> reads = new HashMap<>();
        CpuScheduler s = new CpuScheduler(1, clock::nanos, v -> {
            reads.merge(v, 1, Integer::sum);
            return cpu.getOrDefault(v, -1L);
        }, false);
        Partition p = s.admit("a", 1, CpuEntitlement.ofCores(0.30, true, 128));
        ScheduledVcpu v = start(p, 0);
        s.dispatch();
        clock.advance(WINDOW);
        assertThat(s.dispatch()).isNotEqualTo(CpuScheduler.IDLE); // it runs: watched until its budget is spent
        use(v, MS);
        v.halting();
        int before = reads.get(v);
        clock.advance(MS);
        assertThat(s.dispatch()).isEqualTo(CpuScheduler.IDLE); // the reading after it halted is its last
        assertThat(reads.get(v)).isEqualTo(before + 1);
        assertThat(p.cpuNanos()).isEqualTo(MS);
        clock.advance(5 * WINDOW); // the dispatcher slept through windows: nothing read, the entitlement accrued
        assertThat(s.dispatch()).isEqualTo(CpuScheduler.IDLE);
        assertThat(reads.get(v)).isEqualTo(before + 1);
        assertThat(p.entitledNanos()).isEqualTo(3 * (7 * WINDOW + MS) / 10); // up to the end of the new window
        v.woke();
        use(v, 2 * MS);
        long next = s.dispatch();
        assertThat(reads.get(v)).isEqualTo(before + 2);
        assertThat(next - clock.nanos()).isEqualTo(3 * MS - 2 * MS); // watched again, in its own window
    }

    @Test
    void uncappedSpareIsSharedByWeightAndWeightZeroTakesOnlyItsEntitlement() throws Exception {
        CpuScheduler s = scheduler(1);
        Partition heavy = s.admit("heavy", 1, CpuEntitlement.ofCores(0.05, false, 128));
        Partition light = s.admit("light", 1, CpuEntitlement.ofCores(0.05, false, 64));
        Partition none = s.admit("none", 1, CpuEntitlement.ofCores(0.10, false, 0));
        Partition capped = s.admit("capped", 2, CpuEntitlement.ofCores(0.20, true, 255));
        s.dispatch();
        clock.advance(WINDOW);
        s.dispatch();
        // spare = 1.00 - 0.40 = 0.60, shared 2:1
        assertThat(heavy.vcpu(0).budget).isEqualTo(MS / 2 + 4 * MS);
        assertThat(light.vcpu(0).budget).isEqualTo(MS / 2 + 2 * MS);
        assertThat(none.vcpu(0).budget).isEqualTo(MS);
        assertThat(capped.vcpu(0).budget).isEqualTo(MS);
        assertThat(capped.vcpu(1).budget).isEqualTo(MS);
    }

    @Test
    void noVcpuGetsMoreThanAWholeWindowAndTheRestGoesToTheOthers() throws Exception {
        CpuScheduler s = scheduler(2);
        Partition heavy = s.admit("heavy", 1, CpuEntitlement.ofCores(0.10, false, 255));
        Partition light = s.admit("light", 2, CpuEntitlement.ofCores(0.10, false, 1));
        s.dispatch();
        clock.advance(WINDOW);
        s.dispatch();
        // spare 1.80: heavy would get almost all but stops at one core; light's two vCPUs share the rest.
        assertThat(heavy.vcpu(0).budget).isEqualTo(WINDOW);
        assertThat(light.vcpu(0).budget).isEqualTo(MS / 2 + (18 * MS - 9 * MS) / 2);
        assertThat(light.vcpu(1).budget).isEqualTo(light.vcpu(0).budget);
    }

    @Test
    void aChangeTakesEffectAtTheNextWindow() throws Exception {
        CpuScheduler s = scheduler(1);
        Partition p = s.admit("a", 1, CpuEntitlement.ofCores(0.30, true, 128));
        ScheduledVcpu v = start(p, 0);
        s.dispatch();
        p.change(CpuEntitlement.ofCores(0.75, true, 128));
        assertThat(v.budget).isEqualTo(3 * MS);
        clock.advance(WINDOW);
        s.dispatch();
        assertThat(v.budget).isEqualTo(7 * MS + MS / 2);
        assertThat(p.entitledNanos()).isEqualTo(3 * MS + 7 * MS + MS / 2);
    }

    @Test
    void admissionHoldsTheCappedEntitlementsToTheCapacity() throws Exception {
        CpuScheduler s = scheduler(1);
        Partition a = s.admit("a", 1, CpuEntitlement.ofCores(0.60, true, 128));
        assertThatThrownBy(() -> s.admit("b", 1, CpuEntitlement.ofCores(0.50, true, 128)))
                .isInstanceOf(AdmissionException.class)
                .hasMessage("entitlement 0.50 for 'b' does not fit: 0.60 of the host's 1.00 cores are entitled "
                        + "to other capped machines");
        Partition b = s.admit("b", 1, CpuEntitlement.ofCores(0.40, true, 128));
        assertThatThrownBy(() -> b.change(CpuEntitlement.ofCores(0.41, true, 128)))
                .isInstanceOf(AdmissionException.class);
        assertThat(b.entitlement().units()).isEqualTo(40);
        Partition u = s.admit("u", 1, CpuEntitlement.ofCores(0.90, false, 128));  // uncapped: always admitted
        assertThatThrownBy(() -> u.change(CpuEntitlement.ofCores(0.10, true, 128)))
                .as("becoming capped counts").isInstanceOf(AdmissionException.class);
        a.change(CpuEntitlement.ofCores(0.55, true, 128)); // a change replaces its own entitlement
        a.release();
        s.admit("c", 1, CpuEntitlement.ofCores(0.60, true, 128));
        assertThat(s.cappedUnits()).isEqualTo(100);
        assertThat(s.entitledUnits()).isEqualTo(190);
        assertThatThrownBy(() -> s.admit("c", 1, CpuEntitlement.ofCores(0.05, true, 128)))
                .hasMessage("a partition named 'c' exists already");
    }

    @Test
    void entitlementsOutOfRangeNameTheirField() {
        assertThatThrownBy(() -> CpuEntitlement.ofCores(0.355, true, 1))
                .hasMessage("entitlement 0.355 is not in hundredths of a core");
        assertThatThrownBy(() -> CpuEntitlement.ofCores(-1, true, 1))
                .hasMessage("entitlement -1.0 is not a positive number of cores");
        assertThatThrownBy(() -> new CpuEntitlement(10, false, 256)).hasMessage("weight 256 is outside 0..255");
        assertThatThrownBy(() -> CpuEntitlement.ofCores(0.08, true, 1).requireFits(2))
                .hasMessage("entitlement 0.08 is below 0.05 per vCPU: 2 vCPUs need at least 0.10");
        assertThatThrownBy(() -> CpuEntitlement.ofCores(1.01, true, 1).requireFits(1))
                .hasMessage("entitlement 1.01 is above 1.00 per vCPU: 1 vCPUs may have at most 1.00");
        assertThatThrownBy(() -> scheduler(4).admit("x", 2, CpuEntitlement.ofCores(2.5, true, 1)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
