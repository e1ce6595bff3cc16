package dev.hako.mgmt.api;

import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.client.WebSocketClient;

/** A test's viewer of a VM's console WebSocket over the server's UNIX socket: collects output, types input. */
public final class ConsoleViewer implements Session.Listener.AutoDemanding, AutoCloseable {
    private final StringBuilder output = new StringBuilder();
    private final WebSocketClient client;
    private Session session;

    private ConsoleViewer(HttpClient http) {
        this.client = new WebSocketClient(http);
    }

    /** A viewer through {@code http}, a client whose connections go to the server's socket. */
    static ConsoleViewer open(HttpClient http, String vm) throws Exception {
        ConsoleViewer viewer = new ConsoleViewer(http);
        viewer.client.start();
        URI uri = URI.create("ws://localhost/vms/" + vm + "/console");
        viewer.session = viewer.client.connect(viewer, uri).get(30, TimeUnit.SECONDS);
        return viewer;
    }

    @Override
    public void onWebSocketBinary(ByteBuffer payload, Callback callback) {
        byte[] bytes = new byte[payload.remaining()];
        payload.get(bytes);
        synchronized (output) {
            output.append(new String(bytes, StandardCharsets.ISO_8859_1));
            output.notifyAll();
        }
        callback.succeed();
    }

    void type(String text) {
        session.sendText(text, Callback.NOOP);
    }

    String output() {
        synchronized (output) {
            return output.toString();
        }
    }

    int length() {
        synchronized (output) {
            return output.length();
        }
    }

    /** Waits for {@code pattern} in the output after {@code from}; returns its match. */
    Matcher await(Pattern pattern, int from, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        synchronized (output) {
            while (true) {
                Matcher m = pattern.matcher(output);
                if (m.find(Math.min(from, output.length()))) {
                    return m;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("no " + pattern + " on the console within " + seconds + " s; it shows:\n"
                            + output.substring(Math.max(0, output.length() - 3000)));
                }
                TimeUnit.NANOSECONDS.timedWait(output, left);
            }
        }
    }

    @Override
    public void close() throws Exception {
        session.close();
        client.stop();
    }
}
