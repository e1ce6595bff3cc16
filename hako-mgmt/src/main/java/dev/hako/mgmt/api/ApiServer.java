package dev.hako.mgmt.api;

import dev.hako.host.Host;
import dev.hako.host.HostException;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.pathmap.UriTemplatePathSpec;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.unixdomain.server.UnixDomainServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;

/**
 * The API server of {@code hako serve}: Jetty (core handlers, no servlets) on a UNIX socket whose file is made
 * 0600 (only its owner may connect: that is the authentication) and, when asked, on TCP, where every request
 * needs {@code Authorization: Bearer TOKEN}. In front of the routes ({@link ApiHandler}) the console's WebSocket
 * upgrade ({@link ConsoleSocket}).
 */
public final class ApiServer implements AutoCloseable {
    private static final String CONSOLE_PATH = "/vms/{name}/console";

    private final Server server;
    private final ServerConnector tcp;

    /**
     * Starts serving {@code host} on {@code socket} (a stale socket file there is replaced) and, when
     * {@code listen} is not null, on TCP with {@code token}.
     */
    public ApiServer(Host host, Path socket, InetSocketAddress listen, String token, PrintStream log)
            throws Exception {
        QueuedThreadPool threads = new QueuedThreadPool(32, 2);
        threads.setName("api");
        threads.setDaemon(true);
        server = new Server(threads);
        server.setErrorHandler(new JsonErrors());
        Files.deleteIfExists(socket);
        UnixDomainServerConnector unix = new UnixDomainServerConnector(server, new HttpConnectionFactory());
        unix.setUnixDomainPath(socket);
        server.addConnector(unix);
        if (listen != null) {
            tcp = new ServerConnector(server, new HttpConnectionFactory());
            tcp.setHost(listen.getHostString());
            tcp.setPort(listen.getPort());
            server.addConnector(tcp);
        } else {
            tcp = null;
        }
        WebSocketUpgradeHandler websockets = WebSocketUpgradeHandler.from(server, container -> {
            container.setIdleTimeout(Duration.ZERO);
            container.addMapping(new UriTemplatePathSpec(CONSOLE_PATH), (request, response, callback) -> {
                String path = request.getHttpURI().getDecodedPath();
                String name = path.substring("/vms/".length(), path.length() - "/console".length());
                try {
                    return new ConsoleSocket(host.console(name));
                } catch (HostException e) {
                    ApiHandler.error(response, callback, ApiError.from(e));
                    return null;
                }
            });
        });
        websockets.setHandler(new ApiHandler(host, log));
        server.setHandler(new ConsolePage(tcp == null ? websockets : new BearerToken(tcp, token, websockets)));
        server.start();
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
    }

    /** The TCP port served (useful with port 0); -1 without TCP. */
    public int tcpPort() {
        return tcp == null ? -1 : tcp.getLocalPort();
    }

    @Override
    public void close() throws Exception {
        server.stop();
    }

    /** Refuses requests that came over TCP without the token (UNIX socket requests pass: the file mode guards). */
    private static final class BearerToken extends Handler.Wrapper {
        private final ServerConnector tcp;
        private final byte[] expected;

        BearerToken(ServerConnector tcp, String token, Handler next) {
            super(next);
            this.tcp = tcp;
            this.expected = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            if (request.getConnectionMetaData().getConnector() == tcp) {
                String given = request.getHeaders().get(HttpHeader.AUTHORIZATION);
                if (given == null || !MessageDigest.isEqual(expected, given.getBytes(StandardCharsets.UTF_8))) {
                    response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer");
                    ApiHandler.error(response, callback, new ApiError(401, "unauthorized",
                            "this API needs Authorization: Bearer TOKEN (the server's token file)", null));
                    return true;
                }
            }
            return super.handle(request, response, callback);
        }
    }

    /** Reads the token from {@code file}, one line; an empty one is refused. */
    public static String readToken(Path file) throws IOException {
        String token = Files.readString(file).strip();
        if (token.isEmpty() || token.chars().anyMatch(c -> c <= ' ' || c > '~')) {
            throw new IOException(file + ": a token is one line of printable ASCII without spaces");
        }
        return token;
    }
}
