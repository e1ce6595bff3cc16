package dev.hako.devices.irqchip;

import dev.hako.core.time.TimerQueue;
import dev.hako.core.time.VirtualClock;

/**
 * The local APIC timer (Intel SDM vol. 3 §11.5.4): initial count, current count and divide configuration
 * registers, in one-shot, periodic and TSC-deadline modes. The counter is not ticked: its value is derived
 * from the {@link VirtualClock} and the start time, and expiry is a {@link TimerQueue} deadline.
 *
 * <p>The APIC bus clock is 1 GHz (one count per nanosecond before division), as under KVM. The TSC is taken
 * to count {@code tscHz} from guest time zero, which turns a TSC deadline into guest nanoseconds. Periodic
 * periods below {@link LocalApic#MIN_PERIOD_NANOS} are stretched to it.
 *
 * <p>Owned by one {@link LocalApic} and only touched under the interrupt controllers' shared lock; the mode
 * (LVT timer bits 18:17) is the APIC's, passed in.
 */
final class LocalApicTimer {
    static final int ONE_SHOT = 0;
    static final int PERIODIC = 1;
    static final int TSC_DEADLINE = 2;

    private final VirtualClock clock;
    private final long tscHz;
    private final TimerQueue.Timer timer;
    private int initialCount;
    private int divideConfig;
    private long startNanos;
    private long deadlineNanos = -1; // armed expiry, -1 when stopped
    private long tscDeadline;

    LocalApicTimer(TimerQueue timers, long tscHz, Runnable onExpiry) {
        this.clock = timers.clock();
        this.tscHz = tscHz;
        this.timer = timers.newTimer(onExpiry);
    }

    int initialCount() {
        return initialCount;
    }

    int divideConfig() {
        return divideConfig;
    }

    void setDivideConfig(int value) {
        divideConfig = value & 0xB;
    }

    long tscDeadline() {
        return tscDeadline;
    }

    long startNanos() {
        return startNanos;
    }

    long deadlineNanos() {
        return deadlineNanos;
    }

    /** Stops the timer and clears its registers (reset, INIT, mode switch). */
    void reset() {
        initialCount = 0;
        divideConfig = 0;
        tscDeadline = 0;
        stop();
    }

    /** A mode switch between count-down and TSC-deadline disarms the timer (SDM §11.5.4.1). */
    void modeChanged() {
        initialCount = 0;
        tscDeadline = 0;
        stop();
    }

    /** A write of the initial count register: restarts the count-down (0 stops it). */
    void start(int count, int mode) {
        if (mode == TSC_DEADLINE) {
            return; // ignored in TSC-deadline mode
        }
        initialCount = count;
        if (count == 0) {
            stop();
            return;
        }
        startNanos = clock.nanos();
        arm(startNanos + period(mode));
    }

    int currentCount(int mode) {
        if (initialCount == 0 || mode == TSC_DEADLINE) {
            return 0;
        }
        long perCount = nanosPerCount();
        long elapsed = (clock.nanos() - startNanos) / perCount;
        long initial = initialCount & 0xFFFF_FFFFL;
        if (mode == PERIODIC) {
            long periodCounts = Math.max(period(mode) / perCount, 1);
            return (int) (initial - elapsed % periodCounts);
        }
        return elapsed >= initial ? 0 : (int) (initial - elapsed);
    }

    /**
     * An IA32_TSC_DEADLINE write in TSC-deadline mode: arms, or with 0 disarms. Returns true when the deadline
     * has already passed, so the caller fires at once.
     */
    boolean setTscDeadline(long tsc) {
        tscDeadline = tsc;
        if (tsc == 0) {
            stop();
            return false;
        }
        long deadline = tscToNanos(tsc);
        if (deadline <= clock.nanos()) {
            stop();
            tscDeadline = 0;
            return true;
        }
        arm(deadline);
        return false;
    }

    /** The queue reached our deadline: re-arms a periodic timer; false when the timer was stopped meanwhile. */
    boolean expire(int mode) {
        if (deadlineNanos < 0) {
            return false;
        }
        switch (mode) {
            case PERIODIC -> {
                long period = period(mode);
                startNanos = deadlineNanos;
                arm(deadlineNanos + period);
            }
            case TSC_DEADLINE -> {
                tscDeadline = 0;
                deadlineNanos = -1;
            }
            default -> deadlineNanos = -1; // one-shot: the count stays at zero
        }
        return true;
    }

    void restore(int initial, int divide, long start, long deadline, long tsc) {
        initialCount = initial;
        divideConfig = divide;
        startNanos = start;
        tscDeadline = tsc;
        if (deadline >= 0) {
            arm(deadline);
        } else {
            stop();
        }
    }

    /** Nanoseconds per count: the 1 GHz bus clock divided per the divide configuration register. */
    private long nanosPerCount() {
        int code = (divideConfig & 3) | ((divideConfig >>> 1) & 4);
        return code == 7 ? 1 : 2L << code;
    }

    private long period(int mode) {
        long p = (initialCount & 0xFFFF_FFFFL) * nanosPerCount();
        return mode == PERIODIC ? Math.max(p, LocalApic.MIN_PERIOD_NANOS) : p;
    }

    private void arm(long deadline) {
        deadlineNanos = deadline;
        timer.arm(deadline);
    }

    private void stop() {
        deadlineNanos = -1;
        timer.cancel();
    }

    private long tscToNanos(long tsc) {
        if (tsc < 0) {
            return Long.MAX_VALUE;
        }
        return (tsc / tscHz) * 1_000_000_000L + (tsc % tscHz) * 1_000_000_000L / tscHz;
    }
}
