package dev.hako.mgmt.api;

import dev.hako.testkit.MigrationReady;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP relay from the source to a destination that cuts the connection once {@code cutAt} bytes went to it (before
 * passing on more), or when the destination's answer {@code cutBackAt} comes back (before passing it on): LOADED
 * ('L', before the source says GO) or RESUMED ('G', after it did). With {@code kill} it SIGKILLs the destination
 * first; without, the destination sees the connection end.
 */
final class MigrationRelay implements AutoCloseable {
    private final ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    private final IncomingDestination destination;
    private final long cutAt;
    private final int cutBackAt;
    private final boolean kill;
    final AtomicLong forwarded = new AtomicLong();
    volatile boolean connectionCut;
    volatile boolean killed;
    private final List<Socket> sockets = new ArrayList<>();

    MigrationRelay(IncomingDestination destination, long cutAt, char cutBackAt, boolean kill) throws IOException {
        this.destination = destination;
        this.cutAt = cutAt;
        this.cutBackAt = cutBackAt;
        this.kill = kill;
        Thread.ofVirtual().start(this::relay);
    }

    int port() {
        return listener.getLocalPort();
    }

    private void relay() {
        try {
            Socket source = listener.accept();
            Socket target = new Socket(InetAddress.getLoopbackAddress(), destination.port);
            synchronized (sockets) {
                sockets.add(source);
                sockets.add(target);
            }
            Thread back = Thread.ofVirtual().start(() -> pipeBack(target, source));
            pipeForward(source.getInputStream(), target.getOutputStream());
            back.join();
        } catch (IOException | InterruptedException e) {
            // a cut connection ends the relay
        } finally {
            closeSockets();
        }
    }

    private void pipeForward(InputStream from, OutputStream to) throws IOException, InterruptedException {
        byte[] buffer = new byte[65536];
        for (int n; (n = from.read(buffer)) > 0; ) {
            long done = forwarded.get();
            int pass = (int) Math.min(n, cutAt - done);
            to.write(buffer, 0, pass);
            forwarded.addAndGet(pass);
            if (pass < n || forwarded.get() == cutAt) {
                cut();
                return;
            }
        }
    }

    /**
     * Passes READY and its handover offer on as they are, then the answers byte by byte until {@code cutBackAt}.
     */
    private void pipeBack(Socket target, Socket source) {
        try {
            DataInputStream from = new DataInputStream(target.getInputStream());
            DataOutputStream to = new DataOutputStream(source.getOutputStream());
            if (!MigrationReady.pass(from, to)) {
                return;
            }
            for (int b; (b = from.read()) >= 0; ) {
                if (b == cutBackAt) {
                    cut();
                    return;
                }
                to.write(b);
                to.flush();
            }
        } catch (IOException | InterruptedException e) {
            // cut
        } finally {
            closeSockets();
        }
    }

    private void cut() throws InterruptedException {
        if (kill && !killed) {
            killed = true;
            destination.kill();
        }
        connectionCut = true;
        closeSockets();
    }

    private void closeSockets() {
        synchronized (sockets) {
            for (Socket s : sockets) {
                try {
                    s.close();
                } catch (IOException e) {
                    // closing is all
                }
            }
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        closeSockets();
    }
}
