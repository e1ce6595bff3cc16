package dev.hako.core.time;

/**
 * A {@link VirtualClock} that runs at host speed off {@link System#nanoTime()}, minus the time spent paused. Its
 * state is the guest time: a clock restored while paused resumes from the saved time.
 */
public final class NanoTimeClock extends PausableClock {
    private volatile long offset = System.nanoTime(); // guest = host - offset while running

    @Override
    long runningNanos() {
        return System.nanoTime() - offset;
    }

    @Override
    void runFrom(long nanos) {
        offset = System.nanoTime() - nanos;
    }
}
