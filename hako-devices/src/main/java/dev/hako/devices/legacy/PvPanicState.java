package dev.hako.devices.legacy;

/** Snapshot of {@link PvPanic}: the events the guest has reported so far (PvPanic's bit values). */
public record PvPanicState(int version, int reported) {
    public static final int VERSION = 1;
}
