package dev.hako.core.time;

/**
 * A {@link VirtualClock} that runs at host speed off {@link System#nanoTime()}, minus the time spent paused.
 */
public final class NanoTimeClock implements VirtualClock {
    private final Object lock = new Object();
    private volatile long offset; // guest = host - offset while running
    private volatile long frozenAt = -1; // guest time while paused, -1 while running

    public NanoTimeClock() {
        offset = System.nanoTime();
    }

    @Override
    public long nanos() {
        long frozen = frozenAt;
        if (frozen >= 0) {
            return frozen;
        }
        return System.nanoTime() - offset;
    }

    @Override
    public void pause() {
        synchronized (lock) {
            if (frozenAt < 0) {
                frozenAt = System.nanoTime() - offset;
            }
        }
    }

    @Override
    public void resume() {
        synchronized (lock) {
            if (frozenAt >= 0) {
                offset = System.nanoTime() - frozenAt;
                frozenAt = -1;
            }
        }
    }

    @Override
    public boolean isPaused() {
        return frozenAt >= 0;
    }
}
