package dev.hako.vmm.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.devices.backend.CharBackend;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The destination of a live migration against sources that go wrong: a peer that is not hako, a newer protocol
 * version, a spec that is not one, a page outside the machine, a source that goes away in the middle. Each ends in
 * one line and builds nothing that stays; the source is told READY only after the machine was built.
 */
class MigrationTargetTest {
    private static final MachineSpec SPEC = new MachineSpec(16L << 20, 1, "soft", "", 0, List.of(), 0, -1, false, 0,
            null, List.of());

    private interface Source {
        void send(DataOutputStream out, Socket socket) throws IOException;
    }

    private static void header(DataOutputStream out, int version) throws IOException {
        out.writeLong(MigrationStream.MAGIC);
        out.writeInt(version);
        byte[] spec = MachineDocument.writeSpec(SPEC);
        out.writeInt(spec.length);
        out.write(spec);
        out.writeInt(0);  // the sizes of no disks
        out.flush();
    }

    @Test
    void aPeerThatIsNotHakoIsRefused() throws Exception {
        assertThat(message(out -> out.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII))))
                .contains("does not speak hako's migration protocol");
    }

    @Test
    void aNewerProtocolVersionIsRefused() throws Exception {
        assertThat(message(out -> header(out, MigrationStream.VERSION + 1)))
                .contains("sends migration version " + (MigrationStream.VERSION + 1));
    }

    @Test
    void aSpecThatIsNotOneIsRefused() throws Exception {
        assertThat(message(out -> {
            out.writeLong(MigrationStream.MAGIC);
            out.writeInt(MigrationStream.VERSION);
            byte[] spec = "{\"memoryBytes\": \"lots\"}".getBytes(StandardCharsets.UTF_8);
            out.writeInt(spec.length);
            out.write(spec);
        })).contains("the source's machine spec does not have the shape this hako saves");
    }

    @Test
    void aPageOutsideTheMachineIsRefusedAfterReady() throws Exception {
        int[] ready = new int[1];
        String message = message((out, socket) -> {
            header(out, MigrationStream.VERSION);
            ready[0] = socket.getInputStream().read();
            out.writeByte(MigrationStream.ZERO_PAGE);
            out.writeInt(7);
            out.writeByte(MigrationStream.DATA_PAGE);
            out.writeInt(4096);  // one past the 16 MiB
            out.write(new byte[MigrationStream.PAGE_SIZE]);
            out.flush();
        });
        assertThat(ready[0]).as("READY once the machine was built").isEqualTo(MigrationStream.READY);
        assertThat(message).contains("page 4096 of a machine of 4096 pages");
    }

    @Test
    void aSourceThatGoesAwayInTheMiddleEndsTheDestination() throws Exception {
        assertThat(message(out -> {
            header(out, MigrationStream.VERSION);
            out.writeByte(MigrationStream.DATA_PAGE);
            out.writeInt(1);
            out.write(new byte[100]);  // and the rest of the page never comes
        })).contains("the source closed the connection before the machine was complete");
    }

    private interface Plain {
        void send(DataOutputStream out) throws IOException;
    }

    private static String message(Plain source) throws Exception {
        return message((out, socket) -> source.send(out));
    }

    private static String message(Source source) throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> {
                try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort())) {
                    DataOutputStream out = new DataOutputStream(socket.getOutputStream());
                    source.send(out, socket);
                    out.flush();
                    socket.shutdownOutput();
                    socket.getInputStream().readAllBytes();  // until the destination closes
                } catch (IOException e) {
                    // the destination may close first
                }
            });
            PrintStream log = new PrintStream(new ByteArrayOutputStream(), true);
            try {
                MigrationTarget.accept(listener, CharBackend.NULL, log).close();
            } catch (MigrationException e) {
                sent.get(30, TimeUnit.SECONDS);
                assertThat(e.getMessage()).doesNotContain("\n");
                return e.getMessage();
            }
            throw new AssertionError("the destination took a broken migration");
        }
    }
}
