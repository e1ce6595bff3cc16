package dev.hako.vmm.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.sys.Poll;
import dev.hako.sys.UnixSocket;
import dev.hako.vmm.net.PasstBackend;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * passt's socket handed from one backend to another as a migration does it, in one JVM: a socketpair stands for
 * passt (the test writes and reads its end in QEMU's stream framing), one backend reads part of it, hands it over the
 * destination's handover socket (SCM_RIGHTS), and the other goes on from the next frame: nothing is lost or read
 * twice, frames the first had queued for passt reached it, and passt's end sees the socket close only when the last
 * holder closes it (which is what ends passt --one-off).
 */
class PasstHandoverTest {
    private final int[] passt;

    PasstHandoverTest() throws IOException {
        passt = UnixSocket.pair();
    }

    /** passt's end; the other belongs to the backend that holds it, which closes it. */
    @AfterEach
    void closePasst() {
        UnixSocket.close(passt[0]);
    }

    @Test
    void theSocketMovesOnAFrameBoundaryAndTheNewHolderOwnsIt() throws Exception {
        PasstBackend source = connected(passt[1]);
        fromPasst(frame(1, 60), frame(2, 70));
        byte[] third = frame(3, 90);
        fromPasst(Arrays.copyOf(third, 30));  // half a frame: the source must not cut it
        assertThat(receive(source)).isEqualTo(payload(1, 60));
        assertThat(source.send(ByteBuffer.wrap(payload(9, 80)))).isTrue();

        PasstBackend destination = PasstBackend.awaitingHandover(List.of());
        try (PasstHandover.Listener listener = PasstHandover.Listener.open()) {
            int connection = PasstHandover.connect(listener.offer());
            assertThat(connection).as("the destination's socket on this host").isNotNegative();
            CompletableFuture<List<PasstBackend.Handover>> received = CompletableFuture.supplyAsync(() -> {
                try {
                    return listener.receive(1);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            PasstHandover.send(connection, listener.offer(), List.of(source));
            destination.adopt(received.get(10, TimeUnit.SECONDS).getFirst());
            UnixSocket.close(connection);
        }
        assertThat(receive(source)).as("the source reads no more").isEqualTo(new byte[0]);
        source.forget();

        assertThat(toPasst(4 + 80)).as("the frame the source had taken from the guest").isEqualTo(frame(9, 80));
        assertThat(receive(destination)).isEqualTo(payload(2, 70));
        assertThat(receive(destination)).as("nothing whole yet").isEqualTo(new byte[0]);
        fromPasst(Arrays.copyOfRange(third, 30, third.length));
        assertThat(receive(destination)).isEqualTo(payload(3, 90));
        assertThat(destination.send(ByteBuffer.wrap(payload(10, 50)))).isTrue();
        assertThat(toPasst(4 + 50)).isEqualTo(frame(10, 50));

        destination.close();
        assertThat(endOfStream()).as("passt's end after the new holder closed").isTrue();
    }

    @Test
    void aFailedHandoverLeavesTheSourceReadingWhereItStopped() throws Exception {
        PasstBackend source = connected(passt[1]);
        fromPasst(frame(1, 60), frame(2, 70));
        assertThat(receive(source)).isEqualTo(payload(1, 60));
        PasstBackend.Handover handover = source.handOver(1000);
        assertThat(handover.unread()).isEqualTo(frame(2, 70));
        source.takeBack();
        assertThat(receive(source)).isEqualTo(payload(2, 70));
        source.close();
        assertThat(endOfStream()).isTrue();
    }

    @Test
    void aPeerWithoutTheTokenIsRefused() throws Exception {
        PasstBackend source = connected(passt[1]);
        try (PasstHandover.Listener listener = PasstHandover.Listener.open()) {
            int connection = PasstHandover.connect(listener.offer());
            CompletableFuture<String> refused = CompletableFuture.supplyAsync(() -> {
                try {
                    listener.receive(1);
                    return "taken";
                } catch (IOException e) {
                    return e.getMessage();
                }
            });
            PasstHandover.send(connection, new PasstHandover.Offer(listener.offer().path(),
                    new byte[PasstHandover.TOKEN_BYTES]), List.of(source));
            assertThat(refused.get(10, TimeUnit.SECONDS)).contains("without the migration's token");
            UnixSocket.close(connection);
        }
        source.takeBack();
        fromPasst(frame(5, 20));
        assertThat(receive(source)).isEqualTo(payload(5, 20));
        source.close();
    }

    @Test
    void aDestinationOnAnotherHostCannotBeReached() {
        assertThat(PasstHandover.connect(new PasstHandover.Offer(Path.of("/nonexistent/handover"),
                new byte[PasstHandover.TOKEN_BYTES]))).isEqualTo(-1);
    }

    /** A backend on {@code fd}, as a destination that adopted it from nowhere. */
    private static PasstBackend connected(int fd) {
        PasstBackend backend = PasstBackend.awaitingHandover(List.of());
        backend.adopt(new PasstBackend.Handover(fd, 0, new byte[0]));
        return backend;
    }

    private static byte[] payload(int tag, int length) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) (tag * 31 + i);
        }
        return bytes;
    }

    private static byte[] frame(int tag, int length) {
        return ByteBuffer.allocate(4 + length).order(ByteOrder.BIG_ENDIAN).putInt(length).put(payload(tag, length))
                .array();
    }

    private static byte[] receive(PasstBackend backend) throws IOException {
        ByteBuffer into = ByteBuffer.allocate(70_000);
        for (int tries = 0; tries < 50; tries++) {
            int n = backend.receive(into);
            if (n > 0) {
                return Arrays.copyOf(into.array(), n);
            }
            backend.await(true, 10);
        }
        return new byte[0];
    }

    private void fromPasst(byte[]... frames) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            for (byte[] f : frames) {
                MemorySegment bytes = arena.allocateFrom(ValueLayout.JAVA_BYTE, f);
                UnixSocket.writeFully(arena, passt[0], bytes, System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
            }
        }
    }

    private byte[] toPasst(int length) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment into = arena.allocate(length);
            MemorySegment pollfd = Poll.pollfd(arena);
            long done = 0;
            while (done < length && Poll.poll(pollfd, passt[0], Poll.POLLIN, 5000) != 0) {
                long n = UnixSocket.receive(passt[0], into.address() + done, length - done);
                if (n <= 0) {
                    break;
                }
                done += n;
            }
            return into.asSlice(0, done).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    private boolean endOfStream() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocate(1);
            Poll.poll(Poll.pollfd(arena), passt[0], Poll.POLLIN, 5000);
            return UnixSocket.receive(passt[0], one.address(), 1) == 0;
        }
    }
}
