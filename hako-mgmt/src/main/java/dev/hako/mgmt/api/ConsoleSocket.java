package dev.hako.mgmt.api;

import dev.hako.host.ConsoleHub;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;

/**
 * One viewer of a VM's serial console over a WebSocket ({@code GET /vms/NAME/console}): on connect it gets the
 * console's recent output, then the output as it comes, as binary messages (the guest's bytes unchanged); text or
 * binary messages it sends are typed into the guest. Sends are in order: the recent output goes out before the
 * first new output (both hold this viewer's lock). Public, as Jetty's WebSocket layer calls it by reflection.
 */
public final class ConsoleSocket implements Session.Listener.AutoDemanding, ConsoleHub.Viewer {
    private final ConsoleHub console;
    private volatile Session session;

    ConsoleSocket(ConsoleHub console) {
        this.console = console;
    }

    @Override
    public synchronized void onWebSocketOpen(Session opened) {
        session = opened;
        byte[] recent = console.attach(this);
        if (recent.length > 0) {
            opened.sendBinary(ByteBuffer.wrap(recent), Callback.NOOP);
        }
    }

    @Override
    public synchronized void output(byte[] bytes) {
        Session s = session;
        if (s == null || !s.isOpen()) {
            throw new IllegalStateException("the viewer's socket is closed");
        }
        s.sendBinary(ByteBuffer.wrap(bytes), Callback.NOOP);
    }

    @Override
    public void onWebSocketText(String text) {
        console.input(text.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void onWebSocketBinary(ByteBuffer payload, Callback callback) {
        byte[] bytes = new byte[payload.remaining()];
        payload.get(bytes);
        console.input(bytes);
        callback.succeed();
    }

    @Override
    public void onWebSocketClose(int statusCode, String reason, Callback callback) {
        console.detach(this);
        callback.succeed();
    }

    @Override
    public void onWebSocketError(Throwable cause) {
        console.detach(this);
    }
}
