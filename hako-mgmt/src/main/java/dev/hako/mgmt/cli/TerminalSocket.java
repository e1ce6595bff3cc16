package dev.hako.mgmt.cli;

import dev.hako.vmm.host.StdioConsole;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;

/**
 * {@code hako vm console}'s side of the console WebSocket: the guest's output goes to the terminal; the server
 * closing the connection ends the command. Public, as Jetty's WebSocket layer calls it by reflection.
 */
public final class TerminalSocket implements Session.Listener.AutoDemanding {
    private final StdioConsole terminal;
    private final CountDownLatch ended;

    TerminalSocket(StdioConsole terminal, CountDownLatch ended) {
        this.terminal = terminal;
        this.ended = ended;
    }

    @Override
    public void onWebSocketBinary(ByteBuffer payload, Callback callback) {
        while (payload.hasRemaining()) {
            terminal.write(payload.get() & 0xFF);
        }
        callback.succeed();
    }

    @Override
    public void onWebSocketClose(int statusCode, String reason, Callback callback) {
        ended.countDown();
        callback.succeed();
    }
}
