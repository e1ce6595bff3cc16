package dev.hako.vmm.net;

import dev.hako.devices.backend.NetBackend;
import dev.hako.devices.virtio.net.VirtioNet;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
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
 * when the JVM dies; closing the backend or a shutdown hook kill it as well.
 *
 * <p>Buffering is bounded: at most {@link #BUFFER} bytes of frames wait in each direction. A frame the guest
 * sends while the socket is full is refused ({@link #send} false) and waits in the guest's ring. A frame longer
 * than the device's largest (passt never sends one) is skipped and counted. No checksum or segmentation
 * offloads: passt takes and gives whole, checksummed frames.
 */
public final class PasstBackend implements NetBackend {
    /** Bytes of framed frames buffered per direction: room for several of the largest. */
    static final int MTU = 65520;
    static final int BUFFER = 4 * (4 + VirtioNet.MAX_FRAME);
    private static final long START_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** The user passt switches to when started as root, who must be able to create its socket. */
    private static final String PASST_USER = "nobody";

    private final Process process;
    private final Path directory;
    private final SocketChannel channel;
    private final Selector selector;
    private final SelectionKey key;
    private final Thread shutdownHook;
    /** Bytes read from passt, in read mode (position..limit are unconsumed). */
    private final ByteBuffer in = ByteBuffer.allocateDirect(BUFFER).order(ByteOrder.BIG_ENDIAN).flip();
    /** Framed frames for passt, in write mode (0..position are unsent). */
    private final ByteBuffer out = ByteBuffer.allocateDirect(BUFFER).order(ByteOrder.BIG_ENDIAN);
    /** Bytes of an over-long frame still to skip in the input. */
    private long skipping;
    private volatile long dropped;
    private volatile boolean ended;

    private PasstBackend(Process process, Path directory, SocketChannel channel, Thread shutdownHook)
            throws IOException {
        this.process = process;
        this.directory = directory;
        this.channel = channel;
        this.shutdownHook = shutdownHook;
        channel.configureBlocking(false);
        this.selector = Selector.open();
        this.key = channel.register(selector, SelectionKey.OP_READ);
    }

    /**
     * Starts passt with {@code forwards} and connects to it. A host without passt gets an
     * {@link IllegalStateException} that names the package to install.
     */
    public static PasstBackend start(List<PortForward> forwards) throws IOException {
        Path passt = findOnPath("passt");
        if (passt == null) {
            throw new IllegalStateException("--net user needs passt, which is not installed: apt-get install passt");
        }
        Path directory = Files.createTempDirectory("hako-passt-");
        Process process = null;
        Thread hook = null;
        try {
            if (runningAsRoot()) {
                // passt drops root for "nobody" before it creates its socket
                UserPrincipal nobody = directory.getFileSystem().getUserPrincipalLookupService()
                        .lookupPrincipalByName(PASST_USER);
                Files.setOwner(directory, nobody);
            }
            Path socket = directory.resolve("passt.socket");
            List<String> command = new ArrayList<>(List.of(passt.toString(), "--foreground", "--one-off", "--quiet",
                    "--socket", socket.toString()));
            for (PortForward f : forwards) {
                command.add(f.udp() ? "--udp-ports" : "--tcp-ports");
                command.add(f.passtSpec());
            }
            Path log = directory.resolve("passt.log");
            process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            Process started = process;
            hook = new Thread(started::destroyForcibly, "passt killer");
            Runtime.getRuntime().addShutdownHook(hook);
            SocketChannel channel = connect(socket, process, log);
            return new PasstBackend(process, directory, channel, hook);
        } catch (IOException | RuntimeException e) {
            if (process != null) {
                process.destroyForcibly();
            }
            removeHook(hook);
            deleteTree(directory);
            throw e;
        }
    }

    /** Waits for passt's socket and connects; passt's own words when it gave up. */
    private static SocketChannel connect(Path socket, Process process, Path log) throws IOException {
        long deadline = System.nanoTime() + START_TIMEOUT_NANOS;
        while (true) {
            if (Files.exists(socket)) {
                try {
                    return SocketChannel.open(UnixDomainSocketAddress.of(socket));
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

    /** passt's process id, for tests that check it ends with the VM. */
    public long pid() {
        return process.pid();
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
            int n;
            try {
                n = channel.read(in);
            } finally {
                in.flip();
            }
            if (n < 0) {
                ended = true;
                return -1;
            }
            if (n == 0) {
                return 0;
            }
        }
    }

    @Override
    public synchronized boolean send(ByteBuffer frame) throws IOException {
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
        out.flip();
        try {
            channel.write(out);
        } finally {
            out.compact();
        }
    }

    @Override
    public boolean await(boolean frames, long millis) throws IOException {
        boolean pending;
        synchronized (this) {
            if (out.position() > 0) {
                flush();
            }
            pending = out.position() > 0;
        }
        if (frames && hasWholeFrame()) {
            return true;
        }
        key.interestOps((frames ? SelectionKey.OP_READ : 0) | (pending ? SelectionKey.OP_WRITE : 0));
        selector.select(millis);
        selector.selectedKeys().clear();
        return !ended && process.isAlive();
    }

    private boolean hasWholeFrame() {
        return skipping == 0 && in.remaining() >= 4 && in.remaining() - 4 >= (in.getInt(in.position()) & 0xFFFF_FFFFL);
    }

    @Override
    public long dropped() {
        return dropped;
    }

    /** Closes the socket (passt --one-off exits on that), then makes sure passt is gone and removes its files. */
    @Override
    public void close() {
        ended = true;
        try {
            selector.close();
            channel.close();
        } catch (IOException e) {
            // passt is ended below either way
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
