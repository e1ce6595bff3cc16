package dev.hako.usermode;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A process's ITIMER_REAL (setitimer, alarm): SIGALRM when it expires, then every interval. All processes'
 * timers share one daemon scheduler thread; ITIMER_VIRTUAL and ITIMER_PROF are not provided (EINVAL).
 */
final class IntervalTimer {
    private static final ScheduledExecutorService SCHEDULER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "hako-user-timers");
        t.setDaemon(true);
        return t;
    });

    private final GuestProcess process;
    private ScheduledFuture<?> pending;
    private long intervalNanos;
    private long nextExpiry;

    IntervalTimer(GuestProcess process) {
        this.process = process;
    }

    /** Remaining time and interval now, in nanoseconds: {remaining, interval}. */
    synchronized long[] get() {
        if (pending == null) {
            return new long[] {0, 0};
        }
        return new long[] {Math.max(1000, nextExpiry - System.nanoTime()), intervalNanos};
    }

    /** Arms (value > 0) or disarms (value 0) the timer; returns what {@link #get} returned before. */
    synchronized long[] set(long valueNanos, long interval) {
        long[] old = get();
        cancel();
        if (valueNanos > 0) {
            intervalNanos = interval;
            nextExpiry = System.nanoTime() + valueNanos;
            pending = SCHEDULER.schedule(this::expired, valueNanos, TimeUnit.NANOSECONDS);
        }
        return old;
    }

    synchronized void cancel() {
        if (pending != null) {
            pending.cancel(false);
            pending = null;
        }
    }

    private synchronized void expired() {
        if (pending == null) {
            return;
        }
        SignalDelivery.sendToProcess(process, new SignalInfo(SignalInfo.SIGALRM, SignalInfo.SI_KERNEL, 0, 0, 0));
        if (intervalNanos > 0 && !process.exitingAll()) {
            nextExpiry += intervalNanos;
            pending = SCHEDULER.schedule(this::expired, Math.max(0, nextExpiry - System.nanoTime()),
                    TimeUnit.NANOSECONDS);
        } else {
            pending = null;
        }
    }
}
