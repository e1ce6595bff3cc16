package dev.hako.vmm.snapshot;

import dev.hako.testkit.MigrationReady;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;

/**
 * A TCP relay between a migration's source and destination, in one JVM, that cuts the connection when the
 * destination's answer {@code cutAt} (LOADED or RESUMED) comes back, before passing it on. At LOADED only the source's
 * side is closed (the destination hears nothing more: it must give up on its own); at RESUMED, which comes only after
 * GO went through, both sides are.
 */
final class CuttingRelay implements AutoCloseable {
    private final ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    private final int destinationPort;
    private final byte cutAt;
    private volatile Socket source, destination;
    /** Completes when the relay cut the connection. */
    final CompletableFuture<Void> cut = new CompletableFuture<>();

    CuttingRelay(int destinationPort, byte cutAt) throws IOException {
        this.destinationPort = destinationPort;
        this.cutAt = cutAt;
        Thread.ofPlatform().daemon().start(this::relay);
    }

    int port() {
        return listener.getLocalPort();
    }

    private void relay() {
        try {
            source = listener.accept();
            destination = new Socket(InetAddress.getLoopbackAddress(), destinationPort);
            Thread.ofPlatform().daemon().start(this::back);
            copy(source.getInputStream(), destination.getOutputStream());
        } catch (IOException e) {
            // a cut connection ends the relay
        }
    }

    private static void copy(InputStream from, OutputStream to) throws IOException {
        byte[] buffer = new byte[65536];
        for (int n; (n = from.read(buffer)) > 0; ) {
            to.write(buffer, 0, n);
        }
    }

    /** READY and its offer pass as they are; then the answers one byte at a time. */
    private void back() {
        try {
            DataInputStream from = new DataInputStream(destination.getInputStream());
            DataOutputStream to = new DataOutputStream(source.getOutputStream());
            if (!MigrationReady.pass(from, to)) {
                return;
            }
            for (int b; (b = from.read()) >= 0; ) {
                if (b == cutAt) {
                    source.close();
                    if (cutAt == MigrationStream.RESUMED) {
                        destination.close();
                    }
                    cut.complete(null);
                    return;
                }
                to.write(b);
                to.flush();
            }
        } catch (IOException e) {
            // a cut connection ends the relay
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket s : new Socket[] {source, destination}) {
            if (s != null) {
                s.close();
            }
        }
    }
}
