package dev.hako.core.time;

/** A machine's guest time when it was saved: a restored machine's clock goes on from {@code nanos}. */
public record ClockState(int version, long nanos) {
    public static final int VERSION = 1;
}
