package dev.hako.mgmt.cli;

import java.nio.file.Path;
import org.eclipse.jetty.client.Origin;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.transport.HttpClientTransportOverHTTP;
import org.eclipse.jetty.io.Transport;

/**
 * HTTP/1.1 whose every connection goes to one UNIX socket, whatever host the URI names: the client of
 * {@code hako serve}, for plain requests and for the console's WebSocket upgrade alike (Jetty's WebSocket client
 * picks its connection before a per-request transport could be set).
 */
public final class UnixSocketTransport extends HttpClientTransportOverHTTP {
    private final Path socket;

    public UnixSocketTransport(Path socket) {
        this.socket = socket;
    }

    @Override
    public Origin newOrigin(Request request) {
        Origin origin = super.newOrigin(request);
        return new Origin(origin.getScheme(), origin.getAddress(), origin.getTag(), origin.getProtocol(),
                new Transport.TCPUnix(socket));
    }
}
