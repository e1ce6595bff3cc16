package dev.hako.core.time;

import dev.hako.core.state.Snapshotable;

/**
 * What every machine clock shares: guest time from some running source, frozen while the machine is paused, and
 * saved and restored as the guest time itself, so the timers the devices re-arm on restore and the guest's TSC go
 * on where they were. A subclass says where running time comes from and how to make it go on from a given time.
 */
abstract class PausableClock implements VirtualClock, Snapshotable<ClockState> {
    private volatile long frozenAt = -1; // guest time while paused, -1 while running

    /** Guest time from the running source. */
    abstract long runningNanos();

    /** Makes {@link #runningNanos} go on from {@code nanos} now (called with this clock's monitor held). */
    abstract void runFrom(long nanos);

    @Override
    public final long nanos() {
        long frozen = frozenAt;
        return frozen >= 0 ? frozen : runningNanos();
    }

    @Override
    public final synchronized void pause() {
        if (frozenAt < 0) {
            frozenAt = runningNanos();
        }
    }

    @Override
    public final synchronized void resume() {
        if (frozenAt >= 0) {
            runFrom(frozenAt);
            frozenAt = -1;
        }
    }

    @Override
    public final boolean isPaused() {
        return frozenAt >= 0;
    }

    @Override
    public final ClockState save() {
        return new ClockState(ClockState.VERSION, nanos());
    }

    /** Sets the guest time of a paused clock (a running one would jump under the vCPUs). */
    @Override
    public final synchronized void restore(ClockState state) {
        if (state.version() != ClockState.VERSION) {
            throw new IllegalArgumentException("unsupported ClockState version " + state.version());
        }
        if (state.nanos() < 0) {
            throw new IllegalArgumentException("guest time " + state.nanos() + " is negative");
        }
        if (frozenAt < 0) {
            throw new IllegalStateException("the clock runs: restore it while the machine is paused");
        }
        frozenAt = state.nanos();
    }
}
