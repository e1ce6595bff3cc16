package dev.hako.vmm.snapshot;

/**
 * A snapshot that cannot be taken or restored, said in one line for the user: a directory that is not a snapshot,
 * a newer format, a component or record this build does not know, a machine with a device that cannot be saved yet.
 */
public final class SnapshotException extends Exception {
    public SnapshotException(String message) {
        super(message);
    }

    public SnapshotException(String message, Throwable cause) {
        super(message, cause);
    }
}
