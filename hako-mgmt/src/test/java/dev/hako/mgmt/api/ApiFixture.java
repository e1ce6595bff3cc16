package dev.hako.mgmt.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hako.host.Host;
import dev.hako.vmm.sched.CpuScheduler;
import dev.hako.host.VmStore;
import dev.hako.mgmt.cli.UnixSocketTransport;
import java.io.PrintStream;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.CompletableResponseListener;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.io.Transport;

/**
 * A server for tests: a {@link Host} on a temporary state directory, the API on a socket in it and on TCP (a
 * free loopback port, token "test-token"), and a client of both.
 */
final class ApiFixture implements AutoCloseable {
    static final String TOKEN = "test-token";

    final Path state;
    final Path socket;
    /** One core's capacity, so that two capped VMs can be refused room beside each other on any host. */
    final CpuScheduler scheduler = new CpuScheduler(1);
    final Host host;
    final ApiServer server;
    final HttpClient http = new HttpClient();
    /** A client whose every connection goes to the socket (as hako vm's), for the console's WebSocket. */
    final HttpClient overSocket;
    final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();

    ApiFixture(Path state) throws Exception {
        this.state = state;
        this.socket = state.resolve("hako.sock");
        PrintStream log = new PrintStream(logBytes, true, StandardCharsets.UTF_8);
        this.host = new Host(new VmStore(state), scheduler, log);
        this.server = new ApiServer(host, socket, new InetSocketAddress("127.0.0.1", 0), TOKEN, log);
        http.start();
        overSocket = new HttpClient(new UnixSocketTransport(socket));
        overSocket.start();
    }

    /** One answer: status, body text, and its JSON (null when the body is not JSON). */
    record Answer(int status, String body, JsonNode json) {}

    Answer unix(String method, String path, String body) throws Exception {
        return send(http.newRequest("http://localhost" + path).transport(new Transport.TCPUnix(socket)), method,
                body);
    }

    Answer tcp(String method, String path, String body, String authorization) throws Exception {
        Request request = http.newRequest("http://127.0.0.1:" + server.tcpPort() + path);
        if (authorization != null) {
            request.headers(h -> h.put("Authorization", authorization));
        }
        return send(request, method, body);
    }

    private static Answer send(Request request, String method, String body) throws Exception {
        request.method(method).timeout(120, TimeUnit.SECONDS);
        if (body != null) {
            request.body(new StringRequestContent("application/json", body));
        }
        // Bounded here too: once in many fuzz runs a request on a connection the server was closing got no answer
        // and the client's own timeout did not end it. An ExecutionException is what a caller retries.
        ContentResponse response;
        try {
            response = new CompletableResponseListener(request).send().get(150, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            request.abort(e);
            throw new java.util.concurrent.ExecutionException("no answer in 150 s", e);
        }
        String text = response.getContentAsString();
        JsonNode json;
        try {
            json = text.isBlank() ? null : ApiHandler.JSON.readTree(text);
        } catch (Exception e) {
            json = null;
        }
        return new Answer(response.getStatus(), text, json);
    }

    String log() {
        return logBytes.toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws Exception {
        http.stop();
        overSocket.stop();
        server.close();
        host.close();
        scheduler.close();
    }
}
