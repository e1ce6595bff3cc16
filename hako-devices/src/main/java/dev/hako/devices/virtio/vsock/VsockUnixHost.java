package dev.hako.devices.virtio.vsock;

import dev.hako.devices.virtio.HostThreads;
import dev.hako.devices.virtio.VirtioTransport;
import dev.hako.devices.virtio.vsock.VsockConnection.State;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The host side of {@link VirtioVsock}: one thread with a {@link Selector} over the listening UNIX socket at PATH
 * and every connection's socket. It accepts host connections and reads their {@code CONNECT <port>} line, connects
 * guest-initiated connections to {@code PATH_<port>}, moves bytes between the sockets and the connections' buffers
 * (reading only while the guest-bound buffer has room, so a fast host peer waits on the guest's credit), ends
 * connections whose guest never answered, and asks the transport to process the receive queue when the guest is
 * owed packets. Everything it touches of a connection is under the device's lock; it never holds that lock while
 * calling the transport, whose lock comes first.
 */
final class VsockUnixHost implements Runnable {
    /** How long the guest has to accept a host-initiated connection (Firecracker's limit too). */
    static final long CONNECT_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(2);
    /** The longest "CONNECT <port>\n" line read before the connection is refused. */
    static final int MAX_HANDSHAKE = 32;
    private static final long SELECT_MILLIS = 100;
    private static final System.Logger LOG = System.getLogger("dev.hako.devices.virtio");

    private final VirtioVsock device;
    private final Path path;
    private final ServerSocketChannel server;
    private final Selector selector;
    private volatile boolean running = true;
    private Thread thread;

    /** Listens at {@code path}, which must not exist (a stale socket file is the user's to remove). */
    VsockUnixHost(VirtioVsock device, Path path) throws IOException {
        this.device = device;
        this.path = path;
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            s.bind(UnixDomainSocketAddress.of(path));
            s.configureBlocking(false);
            this.selector = Selector.open();
            s.register(selector, SelectionKey.OP_ACCEPT);
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
        this.server = s;
    }

    synchronized void start() {
        if (thread == null) {
            thread = Thread.ofPlatform().daemon().name("vsock " + path.getFileName()).start(this);
        }
    }

    void wakeup() {
        selector.wakeup();
    }

    void close() {
        running = false;
        selector.wakeup();
        Thread t;
        synchronized (this) {
            t = thread;
        }
        HostThreads.awaitEnd(t);
        try {
            server.close();
            selector.close();
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "vsock: cannot remove {0}: {1}", path, e.getMessage());
        }
    }

    @Override
    public void run() {
        try {
            while (running) {
                selector.select(SELECT_MILLIS);
                boolean owesGuest;
                synchronized (device.lock) {
                    for (SelectionKey key : selector.selectedKeys()) {
                        if (key.isValid()) {
                            if (key.channel() == server) {
                                accept();
                            } else {
                                serve((VsockConnection) key.attachment(), key);
                            }
                        }
                    }
                    selector.selectedKeys().clear();
                    long now = System.nanoTime();
                    for (VsockConnection c : device.connections) {
                        if (c != null) {
                            housekeep(c, now);
                        }
                    }
                    owesGuest = device.owesGuest();
                }
                VirtioTransport t = device.transport();
                if (t != null && owesGuest) {
                    t.processFromHost(VirtioVsock.RX_QUEUE);
                }
                if (t != null && device.transportResetOwed()) {
                    t.processFromHost(VirtioVsock.EVENT_QUEUE);
                }
            }
        } catch (IOException | ClosedSelectorException e) {
            if (running) {
                LOG.log(System.Logger.Level.ERROR, "vsock: the host side at {0} stopped: {1}", path, e.toString());
            }
        }
    }

    private void accept() throws IOException {
        SocketChannel channel = server.accept();
        if (channel == null) {
            return;
        }
        int slot = device.freeSlot();
        if (slot < 0) {
            channel.close();  // as many connections as the device keeps: the host peer sees it closed
            return;
        }
        channel.configureBlocking(false);
        VsockConnection c = device.newConnection(device.allocateLocalPort(), 0, State.HANDSHAKE);
        c.allocateBuffers();
        c.channel = channel;
        c.key = channel.register(selector, SelectionKey.OP_READ, c);
        device.connections[slot] = c;
    }

    /** Socket readiness of {@code c}: connect finished, bytes to read, room to write. */
    private void serve(VsockConnection c, SelectionKey key) {
        try {
            if (key.isConnectable() && c.channel.finishConnect()) {
                established(c);
            }
            if (key.isValid() && key.isReadable() && c.toGuest.space() > 0 && c.toGuest.readFrom(c.channel) < 0) {
                c.hostEof = true;
            }
            if (key.isValid() && key.isWritable()) {
                if (c.reply.hasRemaining()) {
                    c.channel.write(c.reply);
                }
                if (!c.reply.hasRemaining()) {
                    c.noteForwarded(c.toHost.writeTo(c.channel));
                }
            }
        } catch (IOException e) {
            hostFailed(c);
        }
    }

    /** The host socket broke (refused, reset, closed under a write): the guest learns with an RST. */
    private void hostFailed(VsockConnection c) {
        if (c.state == State.HANDSHAKE) {
            device.forget(c);
        } else {
            device.reset(c);
        }
    }

    private void established(VsockConnection c) {
        c.state = State.ESTABLISHED;
        c.owesResponse = true;
    }

    /** Moves {@code c} along what happened on either side, then sets which socket events it waits for. */
    private void housekeep(VsockConnection c, long now) {
        try {
            switch (c.state) {
                case HANDSHAKE -> handshake(c, now);
                case GUEST_REQUESTED -> {
                    if (c.channel == null) {
                        connectToHost(c);
                    }
                }
                case HOST_REQUESTED -> {
                    if (now - c.deadlineNanos > 0) {
                        device.reset(c);  // the guest never answered: cancel its side with an RST
                    }
                }
                case ESTABLISHED -> shutdowns(c);
                case CLOSING -> {
                    // the RST goes out with the guest's next receive buffer
                }
            }
        } catch (IOException e) {
            hostFailed(c);
        }
        SelectionKey key = c.key;
        if (key == null || !key.isValid()) {
            return;
        }
        int ops = 0;
        if (c.state == State.GUEST_REQUESTED) {
            ops = SelectionKey.OP_CONNECT;
        } else if (c.state != State.CLOSING) {
            if (c.toGuest.space() > 0 && !c.hostEof) {
                ops |= SelectionKey.OP_READ;
            }
            if (c.reply.hasRemaining() || !c.toHost.isEmpty()) {
                ops |= SelectionKey.OP_WRITE;
            }
        }
        key.interestOps(ops);
    }

    /** Reads "CONNECT <port>\n" from the start of what the host sent; what follows it is already stream data. */
    private void handshake(VsockConnection c, long now) {
        int end = -1;
        for (int i = 0; i < Math.min(c.toGuest.size(), MAX_HANDSHAKE) && end < 0; i++) {
            if (c.toGuest.peek(i) == '\n') {
                end = i;
            }
        }
        if (end < 0) {
            if (c.toGuest.size() >= MAX_HANDSHAKE || c.hostEof) {
                device.forget(c);
            }
            return;
        }
        long port = parseConnect(c.toGuest, end);
        if (port < 0) {
            device.forget(c);
            return;
        }
        c.toGuest.consume(end + 1);
        c.peerPort = (int) port;
        c.state = State.HOST_REQUESTED;
        c.owesRequest = true;
        c.deadlineNanos = now + CONNECT_TIMEOUT_NANOS;
    }

    /** The port of "CONNECT <decimal u32>" in the ring's first {@code length} bytes, or -1. */
    static long parseConnect(ByteRing ring, int length) {
        String prefix = "CONNECT ";
        int digitsEnd = length > 0 && ring.peek(length - 1) == '\r' ? length - 1 : length;
        if (digitsEnd <= prefix.length() || digitsEnd - prefix.length() > 10) {
            return -1;
        }
        for (int i = 0; i < prefix.length(); i++) {
            if (ring.peek(i) != prefix.charAt(i)) {
                return -1;
            }
        }
        long port = 0;
        for (int i = prefix.length(); i < digitsEnd; i++) {
            int d = ring.peek(i) - '0';
            if (d < 0 || d > 9) {
                return -1;
            }
            port = port * 10 + d;
        }
        return port <= 0xFFFF_FFFFL ? port : -1;
    }

    private void connectToHost(VsockConnection c) throws IOException {
        Path target = Path.of(path + "_" + Integer.toUnsignedString(c.localPort));
        c.allocateBuffers();
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        c.channel = channel;
        channel.configureBlocking(false);
        c.key = channel.register(selector, 0, c);
        if (channel.connect(UnixDomainSocketAddress.of(target))) {
            established(c);
        }
    }

    /**
     * The guest's SHUTDOWN and the host's end of stream: half-closes the host socket once the guest's bytes are
     * out, closes it (and owes the guest an RST) when the guest will neither send nor receive, and owes the guest a
     * SHUTDOWN once when the host stopped sending.
     */
    private void shutdowns(VsockConnection c) throws IOException {
        if (c.guestSendsNoMore && c.toHost.isEmpty() && !c.reply.hasRemaining()) {
            if (c.guestReceivesNoMore) {
                device.reset(c);
                return;
            }
            if (!c.hostOutputShut) {
                c.channel.shutdownOutput();
                c.hostOutputShut = true;
            }
        }
        if (c.hostEof && !c.hostEofReported) {
            c.hostEofReported = true;
            c.owesShutdown = true;
        }
    }
}
