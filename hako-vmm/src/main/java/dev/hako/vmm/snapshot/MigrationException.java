package dev.hako.vmm.snapshot;

/** A live migration that did not happen; the message is one line for the user. */
public class MigrationException extends Exception {
    public MigrationException(String message) {
        super(message);
    }
}
