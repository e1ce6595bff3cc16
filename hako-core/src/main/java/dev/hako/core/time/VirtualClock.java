package dev.hako.core.time;

/**
 * Guest time in nanoseconds: monotonic, starting near zero when the machine is created, and frozen while
 * the machine is paused so that timers and counters do not jump when it resumes. Every device and timer
 * reads time from here, never from the host, which makes them testable with a manual clock.
 */
public interface VirtualClock {
    /** Guest nanoseconds; never decreases. Must not allocate. */
    long nanos();

    /** Freezes guest time (idempotent). */
    void pause();

    /** Lets guest time run again from where it was frozen (idempotent). */
    void resume();

    boolean isPaused();
}
