package dev.hako.mgmt.api;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import dev.hako.host.CpuSettings;
import dev.hako.host.Host;
import dev.hako.host.HostException;
import dev.hako.host.VmDefinition;
import dev.hako.host.VmStatus;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The REST API's routes ({@link #ROUTES}, the table the OpenAPI document is checked against) over a {@link Host}:
 * JSON in and out, every refusal a JSON {@link ApiError}. Bad input is a 4xx; a bug in hako is a 500 with a
 * log line, never a stack trace in the answer. The console's WebSocket upgrade is handled in front of this
 * ({@link ApiServer}); a plain GET of the console path gets a 400 that says so.
 */
final class ApiHandler extends Handler.Abstract {
    /** Request bodies are small JSON documents; anything larger is refused unread. */
    static final int MAX_BODY = 64 * 1024;
    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .build();

    /** The body of PUT /vms/NAME/memory. */
    record MemoryTarget(@com.fasterxml.jackson.annotation.JsonProperty("balloon_target_mib") Long balloonTargetMib) {}

    /**
     * The body of POST /vms/NAME/snapshot: where, whether the VM stays paused afterwards, and whether its writable
     * disks are frozen under overlays.
     */
    record SnapshotRequest(String dir, Boolean stop, Boolean overlay) {}

    /** The body of POST /vms/NAME/restore: where, and how the writable disks are opened (null: as taken). */
    record RestoreRequest(String dir, Boolean overlay) {}

    /** The body of POST /vms/NAME/migrate: where the destination (`hako run --incoming`) listens. */
    record MigrateRequest(String to) {}

    private final Host host;
    private final PrintStream log;
    private final List<Route> routes;

    ApiHandler(Host host, PrintStream log) {
        this.host = host;
        this.log = log;
        this.routes = routes(host);
    }

    /** Every method and path the API answers, as the OpenAPI document must list them. */
    static final List<String> ROUTES = routes(null).stream().map(r -> r.method() + " " + r.template()).toList();

    private static List<Route> routes(Host host) {
        List<Route> all = new ArrayList<>();
        all.add(new Route("GET", "/vms", (name, body) -> Route.Reply.json(200,
                host.list().stream().map(VmJson::of).toList())));
        all.add(new Route("PUT", "/vms/{name}", (name, body) -> Route.Reply.json(201,
                VmJson.of(host.define(name, parse(body, VmDefinition.class))))));
        all.add(new Route("GET", "/vms/{name}", (name, body) -> Route.Reply.json(200, VmJson.of(host.status(name)))));
        all.add(new Route("DELETE", "/vms/{name}", (name, body) -> {
            host.delete(name);
            return Route.Reply.json(204, null);
        }));
        all.add(action("start", host == null ? null : host::start));
        all.add(action("pause", host == null ? null : host::pause));
        all.add(action("resume", host == null ? null : host::resume));
        all.add(action("shutdown", host == null ? null : host::shutdown));
        all.add(action("reset", host == null ? null : host::reset));
        all.add(action("stop", host == null ? null : host::stop));
        all.add(new Route("PUT", "/vms/{name}/cpu", (name, body) -> Route.Reply.json(200,
                VmJson.of(host.setCpu(name, parse(body, CpuSettings.class))))));
        all.add(new Route("PUT", "/vms/{name}/memory", (name, body) -> {
            MemoryTarget target = parse(body, MemoryTarget.class);
            if (target.balloonTargetMib() == null) {
                throw ApiError.badRequest("balloon_target_mib is missing", "balloon_target_mib");
            }
            return Route.Reply.json(200, VmJson.of(host.setBalloonTarget(name, target.balloonTargetMib())));
        }));
        all.add(new Route("POST", "/vms/{name}/snapshot", (name, body) -> {
            SnapshotRequest request = parse(body, SnapshotRequest.class);
            return Route.Reply.json(200, VmJson.of(host.snapshot(name, request.dir(),
                    Boolean.TRUE.equals(request.stop()), Boolean.TRUE.equals(request.overlay()))));
        }));
        all.add(new Route("POST", "/vms/{name}/restore", (name, body) -> {
            RestoreRequest request = parse(body, RestoreRequest.class);
            return Route.Reply.json(200, VmJson.of(host.restore(name, request.dir(), request.overlay())));
        }));
        all.add(new Route("POST", "/vms/{name}/migrate", (name, body) -> Route.Reply.json(200,
                VmJson.of(host.migrate(name, parse(body, MigrateRequest.class).to())))));
        all.add(new Route("GET", "/vms/{name}/console", (name, body) -> {
            host.status(name); // a 404 for an unknown VM comes first
            throw ApiError.badRequest("the console is a WebSocket: connect with an Upgrade: websocket request",
                    null);
        }));
        all.add(new Route("GET", "/metrics", (name, body) -> Route.Reply.text(PrometheusMetrics.render(host.list()),
                PrometheusMetrics.CONTENT_TYPE)));
        all.add(new Route("GET", "/openapi.json", (name, body) -> Route.Reply.text(OpenApiDocument.text(),
                "application/json")));
        return List.copyOf(all);
    }

    /** A lifecycle action on one VM. */
    interface Lifecycle {
        VmStatus apply(String name) throws Exception;
    }

    private static Route action(String verb, Lifecycle lifecycle) {
        return new Route("POST", "/vms/{name}/" + verb, (name, body) -> Route.Reply.json(200,
                VmJson.of(lifecycle.apply(name))));
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        try {
            Route.Reply reply = dispatch(request);
            if (reply.text() != null) {
                respond(response, callback, reply.status(), reply.contentType(), reply.text());
            } else if (reply.json() == null) {
                response.setStatus(reply.status());
                callback.succeeded();
            } else {
                respond(response, callback, reply.status(), "application/json",
                        JSON.writerWithDefaultPrettyPrinter().writeValueAsString(reply.json()));
            }
        } catch (ApiError e) {
            error(response, callback, e);
        } catch (HostException e) {
            error(response, callback, ApiError.from(e));
        } catch (Exception | Error e) {
            log.println("hako: internal error answering " + request.getMethod() + " " + request.getHttpURI().getPath()
                    + ": " + e);
            e.printStackTrace(log);
            error(response, callback, new ApiError(500, "internal", "internal error (a bug in hako, logged by the "
                    + "server)", null));
        }
        return true;
    }

    private Route.Reply dispatch(Request request) throws Exception {
        String path = request.getHttpURI().getDecodedPath();
        if (path == null) {
            throw new ApiError(404, "not_found", "no such path", null);
        }
        List<String> allowed = new ArrayList<>();
        for (Route route : routes) {
            String name = route.match(path);
            if (name == null) {
                continue;
            }
            if (!route.method().equals(request.getMethod())) {
                allowed.add(route.method());
                continue;
            }
            if (!name.isEmpty()) {
                Host.requireName(name);
            }
            return route.action().answer(name.isEmpty() ? null : name, readBody(request));
        }
        if (!allowed.isEmpty()) {
            throw new ApiError(405, "method_not_allowed", request.getMethod() + " is not allowed on " + path
                    + " (allowed: " + String.join(", ", allowed) + ")", null);
        }
        throw new ApiError(404, "not_found", "no such path: " + path, null);
    }

    private static byte[] readBody(Request request) throws IOException {
        long declared = request.getLength();
        if (declared > MAX_BODY) {
            throw new ApiError(413, "too_large", "the request body is larger than " + MAX_BODY + " bytes", null);
        }
        try (InputStream in = Content.Source.asInputStream(request)) {
            byte[] body = in.readNBytes(MAX_BODY + 1);
            if (body.length > MAX_BODY) {
                throw new ApiError(413, "too_large", "the request body is larger than " + MAX_BODY + " bytes", null);
            }
            return body;
        }
    }

    /** The body as {@code type}; malformed JSON, a wrong type or an unknown field is a 400 naming the field. */
    static <T> T parse(byte[] body, Class<T> type) {
        if (body.length == 0) {
            throw ApiError.badRequest("the request needs a JSON body", null);
        }
        try {
            T value = JSON.readValue(body, type);
            if (value == null) {
                throw ApiError.badRequest("the request body is null, not a JSON object", null);
            }
            return value;
        } catch (UnrecognizedPropertyException e) {
            throw ApiError.badRequest("unknown field '" + e.getPropertyName() + "'", fieldOf(e));
        } catch (JsonMappingException e) {
            String field = fieldOf(e);
            throw ApiError.badRequest((field != null ? field + ": " : "") + e.getOriginalMessage(), field);
        } catch (JacksonException e) {
            throw ApiError.badRequest("malformed JSON: " + e.getOriginalMessage(), null);
        } catch (IOException e) {
            throw ApiError.badRequest("unreadable body: " + e.getMessage(), null);
        }
    }

    /** The JSON path of a mapping problem, as {@code nets[0].type}. */
    private static String fieldOf(JsonMappingException e) {
        if (e.getPath().isEmpty()) {
            return null;
        }
        String path = e.getPath().stream().map(r -> r.getFieldName() != null ? "." + r.getFieldName()
                : "[" + r.getIndex() + "]").collect(Collectors.joining());
        return path.startsWith(".") ? path.substring(1) : path;
    }

    static void error(Response response, Callback callback, ApiError e) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("code", e.code());
        body.put("message", e.getMessage());
        body.put("field", e.field());
        try {
            respond(response, callback, e.status(), "application/json", JSON.writeValueAsString(body) + "\n");
        } catch (IOException io) {
            callback.failed(io);
        }
    }

    private static void respond(Response response, Callback callback, int status, String type, String text) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
        Content.Sink.write(response, true, text, callback);
    }
}
