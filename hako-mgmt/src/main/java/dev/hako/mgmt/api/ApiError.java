package dev.hako.mgmt.api;

import dev.hako.host.HostException;

/**
 * An answer of the API that is not a success: the HTTP status, a stable code for scripts, a message for people,
 * and the field of the request it is about (or null). Thrown by the routes and written as JSON
 * {@code {"code": ..., "message": ..., "field": ...}} by {@link ApiHandler}.
 */
final class ApiError extends RuntimeException {
    /** The code of a migration that may have moved the guest: the VM stays paused in the server. */
    static final String OUTCOME_UNKNOWN = "outcome_unknown";

    private final int status;
    private final String code;
    private final String field;

    ApiError(int status, String code, String message, String field) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
        this.field = field;
    }

    static ApiError badRequest(String message, String field) {
        return new ApiError(400, "bad_request", message, field);
    }

    /** The HTTP answer to what the host refused. */
    static ApiError from(HostException e) {
        return switch (e.kind()) {
            case BAD_INPUT -> new ApiError(400, "bad_request", e.getMessage(), e.field());
            case NOT_FOUND -> new ApiError(404, "not_found", e.getMessage(), e.field());
            case CONFLICT -> new ApiError(409, "conflict", e.getMessage(), e.field());
            case UNAVAILABLE -> new ApiError(409, "unavailable", e.getMessage(), e.field());
            case OUTCOME_UNKNOWN -> new ApiError(409, OUTCOME_UNKNOWN, e.getMessage(), e.field());
        };
    }

    int status() {
        return status;
    }

    String code() {
        return code;
    }

    String field() {
        return field;
    }
}
