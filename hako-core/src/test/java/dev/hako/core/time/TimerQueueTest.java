package dev.hako.core.time;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TimerQueueTest {
    /** hako-testkit's ManualClock depends on this module, so the core tests carry their own. */
    static final class SteppedClock implements VirtualClock {
        long now;

        @Override
        public long nanos() {
            return now;
        }

        @Override
        public void pause() {
        }

        @Override
        public void resume() {
        }

        @Override
        public boolean isPaused() {
            return false;
        }
    }

    private final SteppedClock clock = new SteppedClock();
    private final TimerQueue queue = new TimerQueue(clock);
    private final List<String> fired = new ArrayList<>();

    @Test
    void timersFireInDeadlineOrderOnlyWhenDue() {
        TimerQueue.Timer a = queue.newTimer(() -> fired.add("a"));
        TimerQueue.Timer b = queue.newTimer(() -> fired.add("b"));
        TimerQueue.Timer c = queue.newTimer(() -> fired.add("c"));
        c.arm(300);
        a.arm(100);
        b.arm(200);
        assertThat(queue.nextDeadline()).isEqualTo(100);
        clock.now = 99;
        assertThat(queue.runDue()).isZero();
        clock.now = 250;
        assertThat(queue.runDue()).isEqualTo(2);
        assertThat(fired).containsExactly("a", "b");
        assertThat(queue.nextDeadline()).isEqualTo(300);
        assertThat(a.isArmed()).isFalse();
        assertThat(c.isArmed()).isTrue();
    }

    @Test
    void rearmingMovesATimerAndCancelRemovesIt() {
        TimerQueue.Timer a = queue.newTimer(() -> fired.add("a"));
        TimerQueue.Timer b = queue.newTimer(() -> fired.add("b"));
        a.arm(100);
        b.arm(200);
        a.arm(300);
        assertThat(queue.nextDeadline()).isEqualTo(200);
        b.cancel();
        assertThat(queue.nextDeadline()).isEqualTo(300);
        a.cancel();
        assertThat(queue.nextDeadline()).isEqualTo(Long.MAX_VALUE);
        clock.now = 1000;
        assertThat(queue.runDue()).isZero();
    }

    @Test
    void aPeriodicTimerRearmingInThePastRunsOncePerCall() {
        TimerQueue.Timer[] self = new TimerQueue.Timer[1];
        self[0] = queue.newTimer(() -> {
            fired.add("tick");
            self[0].arm(self[0].deadline() + 10);
        });
        self[0].arm(10);
        clock.now = 35;
        queue.runDue();
        assertThat(fired).hasSize(3); // 10, 20, 30; 40 is in the future
        assertThat(queue.nextDeadline()).isEqualTo(40);
    }

    @Test
    void manyTimersKeepHeapOrder() {
        List<Long> order = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            long d = (i * 7919L) % 101;
            queue.newTimer(() -> order.add(d)).arm(d);
        }
        clock.now = 1000;
        assertThat(queue.runDue()).isEqualTo(100);
        assertThat(order).isSorted();
    }

    @Test
    void awaitReturnsWhenAnEarlierTimerIsArmed() throws Exception {
        NanoTimeClock real = new NanoTimeClock();
        TimerQueue q = new TimerQueue(real);
        TimerQueue.Timer t = q.newTimer(() -> fired.add("soon"));
        Thread armer = new Thread(() -> {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                return;
            }
            t.armAfter(0);
        });
        armer.start();
        long start = System.nanoTime();
        int ran = 0;
        while (ran == 0 && System.nanoTime() - start < 5_000_000_000L) {
            ran = q.awaitAndRunDue(10_000_000_000L);
        }
        armer.join();
        assertThat(fired).containsExactly("soon");
        assertThat(System.nanoTime() - start).isLessThan(5_000_000_000L);
    }

    @Test
    void wakingTheTimerThreadEndsItsWait() throws Exception {
        TimerQueue q = new TimerQueue(new NanoTimeClock());
        Thread waker = new Thread(() -> {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                return;
            }
            q.wakeTimerThread();
        });
        waker.start();
        long start = System.nanoTime();
        assertThat(q.awaitAndRunDue(60_000_000_000L)).isZero(); // nothing armed: only the wake ends the wait
        waker.join();
        assertThat(System.nanoTime() - start).isLessThan(30_000_000_000L);
    }

    @Test
    void pausedClockStandsStill() throws Exception {
        NanoTimeClock real = new NanoTimeClock();
        real.pause();
        long frozen = real.nanos();
        Thread.sleep(5);
        assertThat(real.nanos()).isEqualTo(frozen);
        real.resume();
        Thread.sleep(2);
        assertThat(real.nanos()).isGreaterThan(frozen).isLessThan(frozen + 1_000_000_000L);
    }
}
