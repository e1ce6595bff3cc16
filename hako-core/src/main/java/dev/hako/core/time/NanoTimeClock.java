package dev.hako.core.time;

import dev.hako.core.state.Snapshotable;

/**
 * A {@link VirtualClock} that runs at host speed off {@link System#nanoTime()}, minus the time spent paused. Its
 * state is the guest time: a clock restored while paused resumes from the saved time, so the timers the devices
 * re-arm on restore and the guest's TSC go on where they were.
 */
public final class NanoTimeClock implements VirtualClock, Snapshotable<ClockState> {
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

    @Override
    public ClockState save() {
        return new ClockState(ClockState.VERSION, nanos());
    }

    /** Sets the guest time of a paused clock (a running one would jump under the vCPUs). */
    @Override
    public void restore(ClockState state) {
        if (state.version() != ClockState.VERSION) {
            throw new IllegalArgumentException("unsupported ClockState version " + state.version());
        }
        if (state.nanos() < 0) {
            throw new IllegalArgumentException("guest time " + state.nanos() + " is negative");
        }
        synchronized (lock) {
            if (frozenAt < 0) {
                throw new IllegalStateException("the clock runs: restore it while the machine is paused");
            }
            frozenAt = state.nanos();
        }
    }
}
