package dev.hako.host;

/**
 * What a host cannot do, of a {@link Kind} that tells the caller what to say: the CLI's exit status, the API's
 * HTTP status. The message is one line for people; {@link #field} names the wrong field of a definition in its JSON
 * spelling (e.g. "memory_mib", "nets[0].type"), or is null.
 */
public final class HostException extends RuntimeException {
    /**
     * What went wrong: the caller's input, a VM that is not there, the VM's state, the host's means, or a live
     * migration that may or may not have moved the guest (it stays paused here).
     */
    public enum Kind { BAD_INPUT, NOT_FOUND, CONFLICT, UNAVAILABLE, OUTCOME_UNKNOWN }

    private final Kind kind;
    private final String field;

    public HostException(Kind kind, String field, String message) {
        super(message, null, false, false);
        this.kind = kind;
        this.field = field;
    }

    public static HostException badInput(String field, String message) {
        return new HostException(Kind.BAD_INPUT, field, message);
    }

    public static HostException conflict(String message) {
        return new HostException(Kind.CONFLICT, null, message);
    }

    public static HostException unavailable(String field, String message) {
        return new HostException(Kind.UNAVAILABLE, field, message);
    }

    public static HostException outcomeUnknown(String field, String message) {
        return new HostException(Kind.OUTCOME_UNKNOWN, field, message);
    }

    public Kind kind() {
        return kind;
    }

    public String field() {
        return field;
    }
}
