package dev.hako.testkit;

import dev.hako.core.time.VirtualClock;

/** A {@link VirtualClock} that moves only when a test {@link #advance}s it. */
public final class ManualClock implements VirtualClock {
    private volatile long now;
    private volatile boolean paused;

    public ManualClock() {
        this(0);
    }

    public ManualClock(long startNanos) {
        now = startNanos;
    }

    @Override
    public long nanos() {
        return now;
    }

    /** Moves time forward; a paused clock does not move (the test asked for the impossible). */
    public synchronized void advance(long nanos) {
        if (nanos < 0) {
            throw new IllegalArgumentException("time only moves forward: " + nanos);
        }
        if (paused) {
            throw new IllegalStateException("clock is paused");
        }
        now += nanos;
    }

    public void advanceMicros(long micros) {
        advance(micros * 1_000);
    }

    public void advanceMillis(long millis) {
        advance(millis * 1_000_000);
    }

    @Override
    public void pause() {
        paused = true;
    }

    @Override
    public void resume() {
        paused = false;
    }

    @Override
    public boolean isPaused() {
        return paused;
    }
}
