package dev.hako.vmm.machine;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * The host's half of the vsock checks in {@link VirtioDevicesIT}, speaking Firecracker's UNIX-socket protocol to
 * hako: it connects to the device's socket, asks for a guest port and checks that the guest echoes random bytes
 * back unchanged; and it listens at {@code PATH_port}, checks that the guest's connection carries c/vsock.c's
 * pattern, and echoes it back for the guest to check. Each result is one line, compared by the test.
 */
final class VsockPeer {
    private final Path socket;
    private final int bytes;
    private volatile String hostToGuest = "not run";
    private volatile String guestToHost = "not run";

    VsockPeer(Path socket, int bytes) {
        this.socket = socket;
        this.bytes = bytes;
    }

    String hostToGuestResult() {
        return hostToGuest;
    }

    String guestToHostResult() {
        return guestToHost;
    }

    /** c/vsock.c's pattern: the high bytes of x = x * 1103515245 + 12345 (mod 2^32) from x = 1. */
    static byte[] pattern(int length) {
        byte[] out = new byte[length];
        int x = 1;
        for (int i = 0; i < length; i++) {
            x = x * 1103515245 + 12345;
            out[i] = (byte) (x >>> 16);
        }
        return out;
    }

    /** Listens at {@code path} now; a thread accepts one connection, checks the pattern and echoes it. */
    Thread listenAndEcho(Path path) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        return Thread.ofPlatform().daemon().start(() -> {
            try (server; SocketChannel c = server.accept()) {
                byte[] expected = pattern(bytes);
                ByteBuffer buffer = ByteBuffer.allocate(65536);
                int received = 0;
                int mismatch = -1;
                while (c.read(buffer.clear()) >= 0) {
                    buffer.flip();
                    for (int i = buffer.position(); i < buffer.limit(); i++, received++) {
                        if (mismatch < 0 && (received >= bytes || buffer.get(i) != expected[received])) {
                            mismatch = received;
                        }
                    }
                    while (buffer.hasRemaining()) {
                        c.write(buffer);
                    }
                }
                guestToHost = mismatch >= 0 ? "mismatch at " + mismatch + " of " + received : "received " + received;
            } catch (IOException e) {
                guestToHost = "failed: " + e;
            }
        });
    }

    /** Connects through the device's socket to the guest's port, sends random bytes, checks the echo. */
    void connectAndCheckEcho(int port) {
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            c.write(ByteBuffer.wrap(("CONNECT " + port + "\n").getBytes(StandardCharsets.US_ASCII)));
            String ok = readLine(c);
            if (!ok.matches("OK \\d+")) {
                hostToGuest = "answer " + ok;
                return;
            }
            byte[] sent = new byte[bytes];
            new SplittableRandom(0x5EED).nextBytes(sent);
            Thread writer = Thread.ofPlatform().daemon().start(() -> {
                try {
                    ByteBuffer out = ByteBuffer.wrap(sent);
                    while (out.hasRemaining()) {
                        c.write(out);
                    }
                    c.shutdownOutput();
                } catch (IOException e) {
                    hostToGuest = "write failed: " + e;
                }
            });
            ByteBuffer back = ByteBuffer.allocate(bytes + 1);
            while (back.hasRemaining() && c.read(back) >= 0) {
                // until end of stream (or one byte too many)
            }
            writer.join();
            back.flip();
            if (back.remaining() != bytes) {
                hostToGuest = "echoed " + back.remaining() + " bytes";
            } else if (!back.equals(ByteBuffer.wrap(sent))) {
                hostToGuest = "echo differs";
            } else {
                hostToGuest = "echoed " + bytes;
            }
        } catch (IOException e) {
            hostToGuest = "failed: " + e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String readLine(SocketChannel c) throws IOException {
        StringBuilder line = new StringBuilder();
        ByteBuffer one = ByteBuffer.allocate(1);
        while (c.read(one.clear()) > 0 && one.get(0) != '\n' && line.length() < 64) {
            line.append((char) one.get(0));
        }
        return line.toString();
    }
}
