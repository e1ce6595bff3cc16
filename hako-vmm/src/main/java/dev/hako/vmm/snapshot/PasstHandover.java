package dev.hako.vmm.snapshot;

import dev.hako.devices.virtio.net.VirtioNet;
import dev.hako.sys.UnixSocket;
import dev.hako.vmm.machine.Machine;
import dev.hako.vmm.net.PasstBackend;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;

/**
 * Handing passt's sockets from a migration's source to its destination on the same host, so that passt, its flows
 * (the guest's TCP connections) and its forwarded ports stay: the destination listens on a UNIX socket in a
 * private directory and offers its path with a random token in its READY answer; the source connects to it while
 * the pre-copy runs (it cannot where the destination is on another host: then the destination starts passts of
 * its own once the guest left the source, and the guest's connections through passt are lost). At the switch the
 * source sends each card's passt socket as SCM_RIGHTS (unix(7)) with the token and the bytes it read from passt and
 * did not give the guest ({@link PasstBackend#handOver}); the destination goes on with them
 * ({@link PasstBackend#adopt}). Until the destination's guest runs the source keeps its own descriptors, and a
 * failed migration goes on with them ({@link PasstBackend#takeBack}).
 */
final class PasstHandover {
    static final int TOKEN_BYTES = 16;
    /** The longest a step of the handover may take: both ends are on this host. */
    private static final int STEP_MILLIS = 5_000;
    private static final int MAX_MESSAGE = TOKEN_BYTES + Long.BYTES + PasstBackend.BUFFER;

    private PasstHandover() {}

    /** Where the destination takes passt's sockets, as its READY answer gives it. */
    record Offer(Path path, byte[] token) {}

    /** The passt backends of {@code machine}'s network cards, in card order. */
    static List<PasstBackend> backends(Machine machine) {
        List<PasstBackend> passts = new ArrayList<>();
        for (Object component : machine.devices().all().values()) {
            if (component instanceof VirtioNet net && net.backend() instanceof PasstBackend passt) {
                passts.add(passt);
            }
        }
        return passts;
    }

    /** Writes {@code offer} (null: none) after READY: the path's length and bytes, then the token. */
    static void writeOffer(DataOutputStream out, Offer offer) throws IOException {
        if (offer == null) {
            out.writeInt(0);
            return;
        }
        byte[] path = offer.path().toString().getBytes(StandardCharsets.UTF_8);
        out.writeInt(path.length);
        out.write(path);
        out.write(offer.token());
    }

    /** Reads what {@link #writeOffer} wrote; null when the destination offers no handover. */
    static Offer readOffer(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n == 0) {
            return null;
        }
        if (n < 0 || n > 4096) {
            throw new IOException("the destination offered a handover socket path of " + n + " bytes");
        }
        byte[] path = new byte[n];
        in.readFully(path);
        byte[] token = new byte[TOKEN_BYTES];
        in.readFully(token);
        return new Offer(Path.of(new String(path, StandardCharsets.UTF_8)), token);
    }

    /**
     * The source's connection to the destination's handover socket, or -1 when it cannot be reached (the destination
     * is on another host, or in another mount namespace).
     */
    static int connect(Offer offer) {
        try {
            return UnixSocket.connect(offer.path());
        } catch (IOException e) {
            return -1;
        }
    }

    /**
     * Hands every backend's socket over {@code connection}; on failure the backends handed over so far are taken
     * back, and the exception says why.
     */
    static void send(int connection, Offer offer, List<PasstBackend> passts) throws IOException {
        List<PasstBackend> handed = new ArrayList<>();
        try {
            for (PasstBackend passt : passts) {
                PasstBackend.Handover handover = passt.handOver(STEP_MILLIS);
                handed.add(passt);
                ByteBuffer message = ByteBuffer.allocate(TOKEN_BYTES + Long.BYTES + handover.unread().length);
                message.put(offer.token()).putLong(handover.skipping()).put(handover.unread());
                UnixSocket.sendDescriptor(connection, handover.descriptor(), message.array(), STEP_MILLIS);
            }
        } catch (IOException | RuntimeException e) {
            handed.forEach(PasstBackend::takeBack);
            throw e;
        }
    }

    /** The destination's end: a listening socket in a private directory, with the token a source must show. */
    static final class Listener implements AutoCloseable {
        private final Path directory;
        private final int fd;
        private final Offer offer;

        private Listener(Path directory, int fd, Offer offer) {
            this.directory = directory;
            this.fd = fd;
            this.offer = offer;
        }

        /** Listens on a new socket only this user can reach (its directory is 0700). */
        static Listener open() throws IOException {
            Path directory = Files.createTempDirectory("hako-incoming-");
            Path path = directory.resolve("passt-handover");
            int fd;
            try {
                fd = UnixSocket.listen(path);
            } catch (IOException e) {
                Files.deleteIfExists(directory);
                throw e;
            }
            byte[] token = new byte[TOKEN_BYTES];
            new SecureRandom().nextBytes(token);
            return new Listener(directory, fd, new Offer(path, token));
        }

        Offer offer() {
            return offer;
        }

        /** Takes {@code count} sockets from the source that connected, each checked against the token. */
        List<PasstBackend.Handover> receive(int count) throws IOException {
            int connection = UnixSocket.accept(fd, STEP_MILLIS);
            if (connection < 0) {
                throw new IOException("the source did not connect to hand over passt");
            }
            List<PasstBackend.Handover> received = new ArrayList<>();
            try {
                for (int i = 0; i < count; i++) {
                    UnixSocket.Received r = UnixSocket.receiveDescriptor(connection, MAX_MESSAGE, STEP_MILLIS);
                    received.add(new PasstBackend.Handover(r.descriptor(), 0, new byte[0]));
                    ByteBuffer message = ByteBuffer.wrap(r.data());
                    byte[] token = new byte[TOKEN_BYTES];
                    if (message.remaining() < TOKEN_BYTES + Long.BYTES
                            || !MessageDigest.isEqual(readToken(message, token), offer.token())) {
                        throw new IOException("a peer without the migration's token tried to hand over a socket");
                    }
                    long skipping = message.getLong();
                    byte[] unread = new byte[message.remaining()];
                    message.get(unread);
                    received.set(i, new PasstBackend.Handover(r.descriptor(), skipping, unread));
                }
                return received;
            } catch (IOException | RuntimeException e) {
                received.forEach(h -> UnixSocket.close(h.descriptor()));
                throw e;
            } finally {
                UnixSocket.close(connection);
            }
        }

        private static byte[] readToken(ByteBuffer message, byte[] token) {
            message.get(token);
            return token;
        }

        @Override
        public void close() {
            UnixSocket.close(fd);
            try {
                Files.deleteIfExists(offer.path());
                Files.deleteIfExists(directory);
            } catch (IOException e) {
                // an empty temporary directory left behind is harmless
            }
        }
    }
}
