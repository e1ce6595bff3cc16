package dev.hako.mgmt.api;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One endpoint of the API: its method and path template as the OpenAPI document spells them
 * ({@code /vms/{name}/cpu}), and what answers it.
 */
record Route(String method, String template, Action action) {
    /** Answers a matched request: the VM name from the path (or null) and the request body; returns the reply. */
    @FunctionalInterface
    interface Action {
        Reply answer(String name, byte[] body) throws Exception;
    }

    /** A success: its status and JSON body (null for none), or text with its content type. */
    record Reply(int status, Object json, String text, String contentType) {
        static Reply json(int status, Object body) {
            return new Reply(status, body, null, null);
        }

        static Reply text(String text, String contentType) {
            return new Reply(200, null, text, contentType);
        }
    }

    /** The name a path matching this template holds (the whole {name} segment), "" without one; null: no match. */
    String match(String path) {
        Matcher m = pattern().matcher(path);
        if (!m.matches()) {
            return null;
        }
        return m.groupCount() > 0 ? m.group(1) : "";
    }

    private Pattern pattern() {
        return Pattern.compile(Pattern.quote(template).replace("{name}", "\\E([^/]+)\\Q"));
    }
}
