package dev.hako.mgmt.cli;

/**
 * A command cannot do what it was asked; {@link Main} prints the message as one line and exits with the status.
 * No stack trace: the message is the whole story.
 */
final class CommandError extends RuntimeException {
    private final int status;

    CommandError(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    static CommandError usage(String message) {
        return new CommandError(ExitStatus.USAGE, message);
    }

    static CommandError unavailable(String message) {
        return new CommandError(ExitStatus.UNAVAILABLE, message);
    }

    int status() {
        return status;
    }
}
