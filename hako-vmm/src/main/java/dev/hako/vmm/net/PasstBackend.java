package dev.hako.vmm.net;

import dev.hako.devices.backend.NetBackend;
import dev.hako.devices.virtio.net.VirtioNet;
import dev.hako.sys.Errno;
import dev.hako.sys.Poll;
import dev.hako.sys.UnixSocket;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Unprivileged user-mode networking through passt (the stack podman and libvirt use): hako starts
 * {@code passt --foreground --one-off} for the VM on a UNIX socket of its own, connects to it, and exchanges
 * Ethernet frames with it in QEMU's stream framing (a 32-bit big-endian length before each frame). passt gives
 * the guest DHCP, DNS, NDP, its outbound TCP, UDP and ICMP through the host's sockets, the host's loopback at the
 * gateway's address, and the port forwards asked for. It ends when hako closes the socket (--one-off), so also
 * when the JVM dies; closing the backend or a shutdown hook kill it as well. The socket is a raw descriptor
 * ({@link UnixSocket}), so that a live migration can hand it to the destination's process ({@link #handOver}):
 * passt keeps its flows, the guest's TCP connections and its forwarded ports, and serves whoever holds the socket.
 *
 * <p>Buffering is bounded: at most {@link #BUFFER} bytes of frames wait in each direction. A frame the guest
 * sends while the socket is full is refused ({@link #send} false) and waits in the guest's ring. A frame longer
 * than the device's largest (passt never sends one) is skipped and counted. No checksum or segmentation
 * offloads: passt takes and gives whole, checksummed frames.
 */
public final class PasstBackend implements NetBackend {
    /** Bytes of framed frames buffered per direction: room for several of the largest. */
    static final int MTU = 65520;
    public static final int BUFFER = 4 * (4 + VirtioNet.MAX_FRAME);
    private static final long START_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** The user passt switches to when started as root, who must be able to create its socket. */
    private static final String PASST_USER = "nobody";
    /** How long a backend without a socket (handed over, or waiting for one) sleeps in {@link #await}. */
    private static final long DETACHED_WAIT_MILLIS = 20;

    private final List<PortForward> forwards;
    /** Bytes read from passt, in read mode (position..limit are unconsumed). */
    private final ByteBuffer in = ByteBuffer.allocateDirect(BUFFER).order(ByteOrder.BIG_ENDIAN).flip();
    /** Framed frames for passt, in write mode (0..position are unsent). */
    private final ByteBuffer out = ByteBuffer.allocateDirect(BUFFER).order(ByteOrder.BIG_ENDIAN);
    private final long inAddress = MemorySegment.ofBuffer(in).address();
    private final long outAddress = MemorySegment.ofBuffer(out).address();
    /** The pump thread's {@code struct pollfd}; freed by the collector, as the thread may still be in poll. */
    private final MemorySegment pollfd = Poll.pollfd(Arena.ofAuto());
    /** The passt this process started (null: none, or one another process started and handed over). */
    private Process process;
    private Path directory;
    private Thread shutdownHook;
    private volatile int fd = -1;
    /** No socket to use now: not yet handed over to this side, or handed over to another process. */
    private volatile boolean detached;
    /** The socket went to another process for good; closing this backend leaves passt alone. */
    private boolean forgotten;
    /** Bytes of an over-long frame still to skip in the input. */
    private long skipping;
    private volatile long dropped;
    private volatile boolean ended;

    private PasstBackend(List<PortForward> forwards) {
        this.forwards = List.copyOf(forwards);
    }

    /**
     * Starts passt with {@code forwards} and connects to it. A host without passt gets an
     * {@link IllegalStateException} that names the package to install.
     */
    public static PasstBackend start(List<PortForward> forwards) throws IOException {
        PasstBackend backend = new PasstBackend(forwards);
        backend.launch();
        return backend;
    }

    /**
     * A backend with no passt yet, for a migration's destination: it gets the source's socket ({@link #adopt}), or,
     * where that cannot be handed over, starts a passt of its own once the guest has left the source
     * ({@link #startFresh}). Until then it takes and gives no frames.
     */
    public static PasstBackend awaitingHandover(List<PortForward> forwards) {
        PasstBackend backend = new PasstBackend(forwards);
        backend.detached = true;
        return backend;
    }

    /** Starts a passt of this backend's own: the fallback when the source's could not be handed over. */
    public synchronized void startFresh() throws IOException {
        if (fd >= 0) {
            throw new IllegalStateException("passt is already connected");
        }
        launch();
        detached = false;
    }

    private void launch() throws IOException {
        Path passt = findOnPath("passt");
        if (passt == null) {
            throw new IllegalStateException("--net user needs passt, which is not installed: apt-get install passt");
        }
        Path dir = Files.createTempDirectory("hako-passt-");
        Process started = null;
        Thread hook = null;
        try {
            if (runningAsRoot()) {
                // passt drops root for "nobody" before it creates its socket
                UserPrincipal nobody = dir.getFileSystem().getUserPrincipalLookupService()
                        .lookupPrincipalByName(PASST_USER);
                Files.setOwner(dir, nobody);
            }
            Path socket = dir.resolve("passt.socket");
            List<String> command = new ArrayList<>(List.of(passt.toString(), "--foreground", "--one-off", "--quiet",
                    "--socket", socket.toString()));
            for (PortForward f : forwards) {
                command.add(f.udp() ? "--udp-ports" : "--tcp-ports");
                command.add(f.passtSpec());
            }
            Path log = dir.resolve("passt.log");
            started = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            hook = new Thread(started::destroyForcibly, "passt killer");
            Runtime.getRuntime().addShutdownHook(hook);
            fd = connect(socket, started, log);
            process = started;
            directory = dir;
            shutdownHook = hook;
        } catch (IOException | RuntimeException e) {
            if (started != null) {
                started.destroyForcibly();
            }
            removeHook(hook);
            deleteTree(dir);
            throw e;
        }
    }

    /** Waits for passt's socket and connects; passt's own words when it gave up. */
    private static int connect(Path socket, Process process, Path log) throws IOException {
        long deadline = System.nanoTime() + START_TIMEOUT_NANOS;
        while (true) {
            if (Files.exists(socket)) {
                try {
                    return UnixSocket.connect(socket);
                } catch (IOException e) {
                    // bound but not yet listening: try again
                }
            }
            if (!process.isAlive() || System.nanoTime() > deadline) {
                process.destroyForcibly();
                String said = Files.exists(log) ? lastLine(Files.readString(log, StandardCharsets.UTF_8)) : "";
                throw new IOException("passt did not start" + (said.isEmpty() ? "" : ": " + said));
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while passt started");
            }
        }
    }

    private static String lastLine(String text) {
        String[] lines = text.strip().split("\n");
        for (int i = lines.length - 1; i >= 0; i--) {
            if (!lines[i].isBlank() && !lines[i].startsWith("Failed to send")) {
                return lines[i].strip();
            }
        }
        return "";
    }

    /** Whether passt is on the PATH. */
    public static boolean installed() {
        return findOnPath("passt") != null;
    }

    static Path findOnPath(String program) {
        String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        for (String dir : path.split(":")) {
            if (!dir.isEmpty()) {
                Path candidate = Path.of(dir, program);
                if (Files.isExecutable(candidate)) {
                    return candidate;
                }
            }
        }
        return null;
    }

    private static boolean runningAsRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** passt's process id, for tests that check it ends with the VM; -1 for a passt another process started. */
    public long pid() {
        Process p = process;
        return p == null ? -1 : p.pid();
    }

    /** The host ports passt forwards to the guest. */
    public List<PortForward> forwards() {
        return forwards;
    }

    @Override
    public boolean vnetHeader() {
        return false;
    }

    /** passt's default MTU, which it also gives by DHCP: 65535 less the Ethernet header, in 32-bit words. */
    @Override
    public int mtu() {
        return MTU;
    }

    /** passt writes every header and checksum of the frames it gives itself. */
    @Override
    public boolean checksummedFrames() {
        return true;
    }

    @Override
    public long offloads() {
        return 0;
    }

    @Override
    public void enableOffloads(long features) {
        // passt takes and gives only whole, checksummed frames
    }

    @Override
    public int receive(ByteBuffer into) throws IOException {
        if (detached) {
            return 0;
        }
        while (true) {
            if (skipping > 0) {
                int n = (int) Math.min(skipping, in.remaining());
                in.position(in.position() + n);
                skipping -= n;
            }
            if (skipping == 0 && in.remaining() >= 4) {
                long length = in.getInt(in.position()) & 0xFFFF_FFFFL;
                if (length > into.remaining() || length > VirtioNet.MAX_FRAME) {
                    in.position(in.position() + 4);
                    skipping = length;
                    dropped++;
                    continue;
                }
                if (in.remaining() >= 4 + length) {
                    int start = in.position() + 4;
                    into.put(into.position(), in, start, (int) length);
                    into.position(into.position() + (int) length);
                    in.position(start + (int) length);
                    return (int) length;
                }
            }
            in.compact();
            long n = UnixSocket.receive(fd, inAddress + in.position(), in.remaining());
            if (n > 0) {
                in.position(in.position() + (int) n);
            }
            in.flip();
            if (n == 0) {
                ended = true;
                return -1;
            }
            if (n == -UnixSocket.EAGAIN) {
                return 0;
            }
            if (n < 0) {
                throw new IOException("reading from passt: " + Errno.describe(-n));
            }
        }
    }

    @Override
    public synchronized boolean send(ByteBuffer frame) throws IOException {
        if (detached) {
            return false;
        }
        int length = frame.remaining();
        if (out.remaining() < 4 + length) {
            flush();
            if (out.remaining() < 4 + length) {
                return false;
            }
        }
        out.putInt(length).put(frame);
        flush();
        return true;
    }

    /** Writes what passt takes now of the buffered frames. */
    private void flush() throws IOException {
        if (out.position() == 0) {
            return;
        }
        long n = UnixSocket.send(fd, outAddress, out.position());
        if (n == -UnixSocket.EAGAIN) {
            return;
        }
        if (n < 0) {
            throw new IOException("writing to passt: " + Errno.describe(-n));
        }
        out.flip().position((int) n);
        out.compact();
    }

    @Override
    public boolean await(boolean frames, long millis) throws IOException {
        if (detached) {
            try {
                Thread.sleep(Math.min(millis, DETACHED_WAIT_MILLIS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            return !ended;
        }
        boolean pending;
        synchronized (this) {
            flush();
            pending = out.position() > 0;
        }
        if (frames && hasWholeFrame()) {
            return true;
        }
        long events = Poll.poll(pollfd, fd, (frames ? Poll.POLLIN : 0) | (pending ? Poll.POLLOUT : 0), (int) millis);
        if (events < 0) {
            throw new IOException("poll: " + Errno.describe(-events));
        }
        if (Poll.hungUp(events) && !frames) {
            ended = true;  // with frames wanted, receive reads what is left and then the end
        }
        Process p = process;
        return !ended && (p == null || p.isAlive());
    }

    private boolean hasWholeFrame() {
        return skipping == 0 && in.remaining() >= 4 && in.remaining() - 4 >= (in.getInt(in.position()) & 0xFFFF_FFFFL);
    }

    @Override
    public long dropped() {
        return dropped;
    }

    /**
     * The socket and what this side read from it and did not give the guest, for another process to go on with;
     * called with the machine paused (no frame moves to or from the guest). First every frame waiting for passt is
     * written (within {@code millis}), so passt has all the guest sent, and the input is cut where the guest's
     * next frame starts. From then on this backend neither reads nor writes ({@link #takeBack} undoes that).
     */
    public synchronized Handover handOver(long millis) throws IOException {
        if (detached || fd < 0) {
            throw new IllegalStateException("passt's socket is not this backend's to hand over");
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (out.position() > 0) {
            flush();
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (out.position() > 0) {
                if (left <= 0) {
                    throw new IOException("passt did not take the guest's last frames within " + millis + " ms");
                }
                Poll.poll(pollfd, fd, Poll.POLLOUT, (int) left); // a failure shows in the next write
            }
        }
        detached = true;
        byte[] unread = new byte[in.remaining()];
        in.get(in.position(), unread);
        return new Handover(fd, skipping, unread);
    }

    /** After a failed {@link #handOver}: this side reads and writes the socket again, from where it stopped. */
    public synchronized void takeBack() {
        if (!forgotten && fd >= 0) {
            detached = false;
        }
    }

    /**
     * After the other process took over the socket: closes this side's descriptor without ending passt and stops
     * killing it when the JVM ends; passt now ends when the other process closes its descriptor.
     */
    public synchronized void forget() {
        forgotten = true;
        detached = true;  // not ended: the card here would take its link down for nothing, the guest runs there
        UnixSocket.close(fd);
        fd = -1;
        removeHook(shutdownHook);
        shutdownHook = null;
        if (directory != null) {
            deleteTree(directory);
        }
    }

    /** Goes on with the socket another process handed over ({@code handover}, its descriptor now this side's). */
    public synchronized void adopt(Handover handover) {
        if (fd >= 0) {
            throw new IllegalStateException("passt is already connected");
        }
        if (handover.unread().length > BUFFER) {
            throw new IllegalArgumentException("the handed-over input holds " + handover.unread().length
                    + " bytes, more than a passt backend buffers");
        }
        in.clear();
        in.put(handover.unread()).flip();
        skipping = handover.skipping();
        fd = handover.descriptor();
        detached = false;
    }

    /**
     * passt's socket in flight between two processes: the descriptor, the bytes of an over-long frame still to
     * skip, and what was read from passt and not yet given to the guest.
     */
    public record Handover(int descriptor, long skipping, byte[] unread) {}

    /**
     * Closes the socket (passt --one-off exits on that), then makes sure a passt this process started is gone and
     * removes its files. A backend whose socket went to another process leaves passt alone.
     */
    @Override
    public synchronized void close() {
        if (forgotten) {
            return;
        }
        ended = true;
        detached = true;
        UnixSocket.close(fd);
        fd = -1;
        if (process == null) {
            return;
        }
        try {
            if (!process.waitFor(2, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(2, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        removeHook(shutdownHook);
        deleteTree(directory);
    }

    private static void removeHook(Thread hook) {
        if (hook != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down: the hook runs anyway
            }
        }
    }

    private static void deleteTree(Path directory) {
        try (Stream<Path> files = Files.walk(directory)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // a temporary directory left behind is harmless
        }
    }
}
