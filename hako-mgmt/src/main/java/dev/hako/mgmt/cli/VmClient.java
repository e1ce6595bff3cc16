package dev.hako.mgmt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.client.WebSocketClient;

/**
 * The {@code hako vm} commands' connection to {@code hako serve}: HTTP over its UNIX socket (Jetty's client with
 * {@link UnixSocketTransport}). An answer that is not a success becomes a {@link CommandError} whose status tells
 * the failure kinds apart ({@link ExitStatus}): the server not reachable, bad input, no such VM, a conflict.
 */
final class VmClient implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    /** Lifecycle actions wait for the machine to be built or stopped; a reset does both. */
    private static final long TIMEOUT_SECONDS = 120;

    private final Path socket;
    private final HttpClient http;

    VmClient(Path socket) {
        this.socket = socket;
        this.http = new HttpClient(new UnixSocketTransport(socket));
        if (!Files.exists(socket)) {
            throw new CommandError(ExitStatus.UNREACHABLE, "no server at " + socket + " (start one with hako serve, "
                    + "or give --socket)");
        }
        try {
            http.start();
        } catch (Exception e) {
            throw new CommandError(ExitStatus.UNREACHABLE, "cannot start the HTTP client: " + e.getMessage());
        }
    }

    /** Sends {@code method path} with a JSON body (or none); returns the answer's JSON (null for none). */
    JsonNode call(String method, String path, Object body) {
        Request request = http.newRequest("http://localhost" + path).method(method)
                .timeout(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        try {
            if (body != null) {
                request.body(new StringRequestContent("application/json", JSON.writeValueAsString(body)));
            }
            ContentResponse response = request.send();
            String text = response.getContentAsString();
            JsonNode json = text.isBlank() ? null : parse(text, response.getStatus());
            if (response.getStatus() >= 300) {
                throw failure(response.getStatus(), json);
            }
            return json;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CommandError(ExitStatus.UNREACHABLE, "interrupted");
        } catch (ExecutionException | TimeoutException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new CommandError(ExitStatus.UNREACHABLE, "the server at " + socket + " does not answer: "
                    + cause.getMessage());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw CommandError.usage("cannot write the request: " + e.getOriginalMessage());
        }
    }

    /** Opens the VM's console WebSocket with {@code listener}. */
    Session console(String name, Session.Listener listener) throws Exception {
        WebSocketClient ws = new WebSocketClient(http);
        ws.setIdleTimeout(Duration.ZERO); // a guest may print nothing for minutes (the default closed it after 30 s)
        ws.start();
        URI uri = URI.create("ws://localhost/vms/" + name + "/console");
        try {
            return ws.connect(listener, uri)
                    .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            String message = String.valueOf(e.getCause() != null ? e.getCause().getMessage() : e.getMessage());
            if (message.contains("404")) {
                throw new CommandError(ExitStatus.NO_SUCH_VM, "no VM named " + name);
            }
            throw new CommandError(ExitStatus.UNREACHABLE, "cannot open the console: " + message);
        }
    }

    private static JsonNode parse(String text, int status) {
        try {
            return JSON.readTree(text);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new CommandError(ExitStatus.INTERNAL_ERROR, "the server answered " + status + " with no JSON: "
                    + text.lines().findFirst().orElse(""));
        }
    }

    private static CommandError failure(int status, JsonNode json) {
        String message = json != null && json.hasNonNull("message") ? json.get("message").asText()
                : "the server answered " + status;
        boolean outcomeUnknown = json != null && "outcome_unknown".equals(json.path("code").asText());
        int exit = outcomeUnknown ? ExitStatus.OUTCOME_UNKNOWN : switch (status) {
            case 400, 405, 413 -> ExitStatus.USAGE;
            case 401 -> ExitStatus.NO_PERMISSION;
            case 404 -> ExitStatus.NO_SUCH_VM;
            case 409 -> ExitStatus.CONFLICT;
            default -> ExitStatus.INTERNAL_ERROR;
        };
        return new CommandError(exit, message);
    }

    @Override
    public void close() {
        try {
            http.stop();
        } catch (Exception e) {
            // the command's answer is what counts
        }
    }
}
