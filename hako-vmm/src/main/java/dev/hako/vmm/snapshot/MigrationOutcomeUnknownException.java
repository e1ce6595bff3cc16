package dev.hako.vmm.snapshot;

/**
 * A live migration whose end the source could not learn: it told the destination to go on (GO) and RESUMED did not
 * come. The guest may run there, so the source's stays paused, its disks and passt handed over; {@link #source}
 * resumes it here, on the user's word, or leaves it to the destination.
 */
public final class MigrationOutcomeUnknownException extends MigrationException {
    private final PausedSource source;

    MigrationOutcomeUnknownException(String message, PausedSource source) {
        super(message);
        this.source = source;
    }

    public PausedSource source() {
        return source;
    }
}
