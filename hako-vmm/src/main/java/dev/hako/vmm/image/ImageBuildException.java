package dev.hako.vmm.image;

import java.util.List;

/**
 * An image build that could not start or did not finish. The message is one line for the user; {@link #details}
 * are the last lines of the failing tool's output, if a tool failed; {@link #reason} lets the command line give
 * each kind of failure its own exit status.
 */
public final class ImageBuildException extends Exception {
    public enum Reason {
        /** The request itself is wrong: the target directory is in use, an option is invalid. */
        USAGE,
        NOT_ROOT,
        MISSING_TOOL,
        /** The Debian mirror cannot be reached. */
        NO_NETWORK,
        DISK_TOO_SMALL,
        /** The build was cancelled (Ctrl-C); what it had made is removed. */
        INTERRUPTED,
        /** A step failed: a tool's exit status, an I/O error. */
        FAILED
    }

    private final Reason reason;
    private final List<String> details;

    public ImageBuildException(Reason reason, String message) {
        this(reason, message, List.of(), null);
    }

    public ImageBuildException(Reason reason, String message, List<String> details, Throwable cause) {
        super(message, cause);
        this.reason = reason;
        this.details = List.copyOf(details);
    }

    public Reason reason() {
        return reason;
    }

    public List<String> details() {
        return details;
    }
}
