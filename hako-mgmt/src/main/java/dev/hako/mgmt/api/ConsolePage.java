package dev.hako.mgmt.api;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.util.Map;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

/**
 * The web console in front of the API: {@code GET /} is its page, {@code /console/FILE} its script and style
 * (resources of this module) and {@code /webjars/...} the files of the webjars on the class or module path
 * (xterm.js). These files hold no VM's data, so they are served without the token; the page then calls the API
 * with {@code Authorization: Bearer} like any client. A browser cannot put that header on a WebSocket, so a
 * console upgrade ({@code GET /vms/NAME/console}) may carry the token as {@code ?token=}: it is moved into the
 * header here and checked by the API's own token check behind, the same as every other request.
 */
final class ConsolePage extends Handler.Wrapper {
    private static final String PAGE_RESOURCES = "/dev/hako/mgmt/console/";
    private static final String WEBJARS = "META-INF/resources/webjars/";
    /** Plain relative file names only: no "..", no leading slash, no doubled or odd characters. */
    private static final Pattern FILE = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*");
    private static final Pattern CONSOLE_UPGRADE = Pattern.compile("/vms/[^/]+/console");
    private static final Map<String, String> TYPES = Map.of(
            "html", "text/html; charset=utf-8",
            "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8");

    ConsolePage(Handler api) {
        super(api);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        String path = request.getHttpURI().getDecodedPath();
        String method = request.getMethod();
        if (path != null && (method.equals("GET") || method.equals("HEAD"))) {
            URL file = null;
            if (path.equals("/")) {
                file = ConsolePage.class.getResource(PAGE_RESOURCES + "index.html");
            } else if (path.startsWith("/console/") && servable(path.substring("/console/".length()))) {
                file = ConsolePage.class.getResource(PAGE_RESOURCES + path.substring("/console/".length()));
            } else if (path.startsWith("/webjars/") && servable(path.substring("/webjars/".length()))) {
                ClassLoader loader = ConsolePage.class.getClassLoader();
                file = loader.getResource(WEBJARS + path.substring("/webjars/".length()));
            } else if (CONSOLE_UPGRADE.matcher(path).matches()) {
                return super.handle(withQueryToken(request), response, callback);
            }
            if (file != null) {
                send(file, type(path), method.equals("HEAD"), response, callback);
                return true;
            }
            if (path.equals("/") || path.startsWith("/console/") || path.startsWith("/webjars/")) {
                ApiHandler.error(response, callback, new ApiError(404, "not_found", "no such file: " + path, null));
                return true;
            }
        }
        return super.handle(request, response, callback);
    }

    private static boolean servable(String file) {
        return FILE.matcher(file).matches() && TYPES.containsKey(extension(file));
    }

    private static String extension(String file) {
        int dot = file.lastIndexOf('.');
        return dot < 0 ? "" : file.substring(dot + 1);
    }

    private static String type(String path) {
        return path.equals("/") ? TYPES.get("html") : TYPES.get(extension(path));
    }

    private static void send(URL file, String type, boolean headOnly, Response response, Callback callback)
            throws IOException {
        byte[] bytes;
        try (InputStream in = file.openStream()) {
            bytes = in.readAllBytes();
        }
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        response.getHeaders().put("X-Content-Type-Options", "nosniff");
        response.write(true, headOnly ? null : java.nio.ByteBuffer.wrap(bytes), callback);
    }

    /** The request with {@code ?token=} as its Authorization header, when it has a token there and no header. */
    private static Request withQueryToken(Request request) {
        if (request.getHeaders().contains(HttpHeader.AUTHORIZATION)) {
            return request;
        }
        Fields query = Request.extractQueryParameters(request);
        String token = query.getValue("token");
        if (token == null) {
            return request;
        }
        HttpFields headers = HttpFields.build(request.getHeaders())
                .put(new HttpField(HttpHeader.AUTHORIZATION, "Bearer " + token)).asImmutable();
        return new Request.Wrapper(request) {
            @Override
            public HttpFields getHeaders() {
                return headers;
            }
        };
    }
}
