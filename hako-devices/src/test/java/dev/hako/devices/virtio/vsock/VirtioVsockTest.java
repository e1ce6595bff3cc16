package dev.hako.devices.virtio.vsock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hako.core.memory.GuestMemory;
import dev.hako.devices.virtio.VirtioFeatures;
import dev.hako.devices.virtio.VirtioFuzzer;
import dev.hako.devices.virtio.VirtioPciFunction;
import dev.hako.devices.virtio.VirtioTestDriver;
import dev.hako.devices.virtio.Virtqueue;
import dev.hako.devices.virtio.vsock.VsockGuest.Packet;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** virtio-vsock against a miniature guest driver and real UNIX sockets on the host side. */
class VirtioVsockTest {
    private static final long CID = 42;
    private static final int GUEST_PORT = 5000, GUEST_EPHEMERAL = 49152;
    private final Arena arena = Arena.ofShared();
    private final GuestMemory memory = new GuestMemory(arena.allocate(8 << 20, 4096));
    @TempDir
    Path dir;
    private Path path;
    private VirtioVsock vsock;
    private VirtioTestDriver driver;
    private VsockGuest guest;

    @AfterEach
    void close() {
        if (vsock != null) {
            vsock.close();
        }
        arena.close();
    }

    private void start(int rxBuffers) throws IOException {
        path = dir.resolve("v.sock");
        vsock = new VirtioVsock(CID, path);
        driver = new VirtioTestDriver(memory, new VirtioPciFunction("virtio-vsock", memory, vsock, m -> { }));
        guest = new VsockGuest(driver, CID);
        guest.start(rxBuffers);
    }

    private static SocketChannel connect(Path to) throws IOException {
        return SocketChannel.open(UnixDomainSocketAddress.of(to));
    }

    private static void write(SocketChannel channel, String text) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    private static String read(SocketChannel channel, int bytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(bytes);
        while (b.hasRemaining() && channel.read(b) >= 0) {
            // until the count or end of stream
        }
        return new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII);
    }

    private static String text(Packet p) {
        return new String(p.payload(), StandardCharsets.US_ASCII);
    }

    /** The host connects with "CONNECT 5000", the guest accepts: returns the host's socket, past "OK port". */
    private SocketChannel hostConnection(String firstData) throws Exception {
        SocketChannel host = connect(path);
        write(host, "CONNECT " + GUEST_PORT + "\n" + firstData);
        Packet request = guest.receive(5000);
        assertThat(request).isNotNull();
        assertThat(request.op()).isEqualTo(VsockHeader.OP_REQUEST);
        assertThat(request.srcCid()).isEqualTo(VirtioVsock.HOST_CID);
        assertThat(request.dstCid()).isEqualTo(CID);
        assertThat(request.dstPort()).isEqualTo(GUEST_PORT);
        assertThat(request.srcPort()).isEqualTo(VirtioVsock.FIRST_LOCAL_PORT);
        guest.send(VsockHeader.OP_RESPONSE, GUEST_PORT, request.srcPort(), new byte[0], 0, 65536, 0);
        String ok = "OK " + request.srcPort() + "\n";
        assertThat(read(host, ok.length())).isEqualTo(ok);
        return host;
    }

    @Test
    void configurationHoldsTheGuestCidAndStreamsAreOffered() throws IOException {
        start(4);
        assertThat(driver.bar().read(0, VirtioPciFunction.DEVICE_OFFSET, 8)).isEqualTo(CID);
        assertThat(driver.bar().read(0, VirtioPciFunction.DEVICE_OFFSET + 4, 4)).isZero();
        assertThat(driver.deviceFeatures() & ~VirtioFeatures.TRANSPORT).isEqualTo(1L << VirtioVsock.F_STREAM);
        assertThatThrownBy(() -> new VirtioVsock(2, dir.resolve("x"))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new VirtioVsock(3, path)).as("the path exists").isInstanceOf(IOException.class);
    }

    @Test
    void hostConnectsToAGuestListenerAndBothDirectionsFlow() throws Exception {
        start(8);
        try (SocketChannel host = hostConnection("hello")) {
            Packet data = guest.receive(5000);
            assertThat(data.op()).isEqualTo(VsockHeader.OP_RW);
            assertThat(text(data)).isEqualTo("hello");
            guest.send(VsockHeader.OP_RW, GUEST_PORT, data.srcPort(), "world".getBytes(StandardCharsets.US_ASCII),
                    0, 65536, 5);
            assertThat(read(host, 5)).isEqualTo("world");
            host.shutdownOutput();
            Packet shutdown = guest.receive(5000);
            assertThat(shutdown.op()).isEqualTo(VsockHeader.OP_SHUTDOWN);
            assertThat(shutdown.flags()).isEqualTo(VsockHeader.SHUTDOWN_SEND);
            guest.send(VsockHeader.OP_SHUTDOWN, GUEST_PORT, data.srcPort(), new byte[0],
                    VsockHeader.SHUTDOWN_SEND | VsockHeader.SHUTDOWN_RECEIVE, 65536, 5);
            assertThat(guest.receive(5000).op()).as("the close completes").isEqualTo(VsockHeader.OP_RST);
            assertThat(read(host, 1)).as("end of stream").isEmpty();
        }
    }

    @Test
    void aGuestThatRefusesClosesTheHostConnection() throws Exception {
        start(8);
        try (SocketChannel host = connect(path)) {
            write(host, "CONNECT 7\n");
            Packet request = guest.receive(5000);
            guest.send(VsockHeader.OP_RST, 7, request.srcPort(), new byte[0], 0, 0, 0);
            assertThat(read(host, 8)).isEmpty();
        }
        try (SocketChannel host = connect(path)) {
            write(host, "CONNECT nonsense\n");
            assertThat(read(host, 8)).as("a bad line closes the connection").isEmpty();
        }
    }

    @Test
    void guestConnectsToAHostListenerOrGetsReset() throws Exception {
        start(8);
        guest.send(VsockHeader.OP_REQUEST, GUEST_EPHEMERAL, 6000, new byte[0], 0, 65536, 0);
        Packet refused = guest.receive(5000);
        assertThat(refused.op()).as("nobody listens at PATH_6000").isEqualTo(VsockHeader.OP_RST);
        assertThat(refused.dstPort()).isEqualTo(GUEST_EPHEMERAL);
        try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            listener.bind(UnixDomainSocketAddress.of(Path.of(path + "_6000")));
            guest.send(VsockHeader.OP_REQUEST, GUEST_EPHEMERAL, 6000, new byte[0], 0, 65536, 0);
            Packet response = guest.receive(5000);
            assertThat(response.op()).isEqualTo(VsockHeader.OP_RESPONSE);
            assertThat(response.srcPort()).isEqualTo(6000);
            try (SocketChannel accepted = listener.accept()) {
                guest.send(VsockHeader.OP_RW, GUEST_EPHEMERAL, 6000, "ping".getBytes(StandardCharsets.US_ASCII), 0,
                        65536, 0);
                assertThat(read(accepted, 4)).isEqualTo("ping");
                write(accepted, "pong");
                Packet pong = guest.receive(5000);
                assertThat(text(pong)).isEqualTo("pong");
                assertThat(pong.dstPort()).isEqualTo(GUEST_EPHEMERAL);
            }
        }
    }

    @Test
    void neverSendsTheGuestMoreThanItsCreditNorBuffersMoreThanAdvertised() throws Exception {
        start(32);
        try (SocketChannel host = hostConnection("")) {
            int port = VirtioVsock.FIRST_LOCAL_PORT;
            guest.send(VsockHeader.OP_CREDIT_UPDATE, GUEST_PORT, port, new byte[0], 0, 1000, 0);
            write(host, "x".repeat(5000));
            int received = 0;
            Packet p;
            while ((p = guest.receive(500)) != null) {
                received += p.payload().length;
            }
            assertThat(received).as("the guest's buf_alloc").isEqualTo(1000);
            guest.send(VsockHeader.OP_CREDIT_UPDATE, GUEST_PORT, port, new byte[0], 0, 1000, 1000);
            while ((p = guest.receive(500)) != null) {
                received += p.payload().length;
            }
            assertThat(received).as("after the guest consumed it all").isEqualTo(2000);
            guest.send(VsockHeader.OP_CREDIT_REQUEST, GUEST_PORT, port, new byte[0], 0, 1000, 1000);
            Packet credit = guest.receive(5000);
            assertThat(credit.op()).isEqualTo(VsockHeader.OP_CREDIT_UPDATE);
            assertThat(credit.bufAlloc()).isEqualTo(VsockConnection.BUFFER);
            assertThat(credit.fwdCnt()).isZero();
            // one packet past the whole advertised buffer: whatever was forwarded, it is beyond the credit
            guest.send(VsockHeader.OP_RW, GUEST_PORT, port, new byte[VsockConnection.BUFFER + 1], 0, 1000, 1000);
            Packet rst;
            do {
                rst = guest.receive(5000);
            } while (rst != null && rst.op() != VsockHeader.OP_RST);
            assertThat(rst).isNotNull();
        }
    }

    @Test
    void hostileHeadersGetResetsOrDeviceNeedsReset() throws Exception {
        start(8);
        guest.send(VsockHeader.OP_RW, 1, 2, new byte[3], 0, 0, 0);
        assertThat(guest.receive(5000).op()).as("unknown connection").isEqualTo(VsockHeader.OP_RST);
        guest.sendRaw(CID, VirtioVsock.HOST_CID, 2, VsockHeader.OP_REQUEST, 1, 2, new byte[0], 0, 0, 0);
        assertThat(guest.receive(5000).op()).as("SEQPACKET").isEqualTo(VsockHeader.OP_RST);
        guest.sendRaw(CID + 1, VirtioVsock.HOST_CID, 1, VsockHeader.OP_REQUEST, 1, 2, new byte[0], 0, 0, 0);
        assertThat(guest.receive(5000).op()).as("another source CID").isEqualTo(VsockHeader.OP_RST);
        guest.send(VsockHeader.OP_RST, 1, 2, new byte[0], 0, 0, 0);
        assertThat(guest.receive(300)).as("no RST for an RST").isNull();
        guest.send(99, 1, 2, new byte[0], 0, 0, 0);
        assertThat(guest.receive(5000).op()).as("unknown operation").isEqualTo(VsockHeader.OP_RST);
        driver.queueDescriptor(VsockGuest.TX, 60, VsockGuest.TX_AREA, 20, 0, 0);
        driver.publish(VsockGuest.TX, 60);
        driver.kick(VsockGuest.TX);
        assertThat(driver.status() & VirtioFeatures.STATUS_DEVICE_NEEDS_RESET).as("a chain shorter than a header")
                .isNotZero();
    }

    @Test
    void restoreDropsConnectionsAndTellsTheGuest() throws Exception {
        start(8);
        try (SocketChannel host = hostConnection("")) {
            VirtioVsockState state = vsock.save();
            assertThat(state.nextLocalPort()).isEqualTo(VirtioVsock.FIRST_LOCAL_PORT + 1);
            vsock.restore(state);
            assertThat(read(host, 1)).as("the host connection is closed").isEmpty();
            long deadline = System.currentTimeMillis() + 5000;
            while (!guest.transportResetSeen() && System.currentTimeMillis() < deadline) {
                Thread.sleep(5);
            }
            assertThat(guest.transportResetSeen()).isTrue();
            assertThat(vsock.save()).isEqualTo(state);
            assertThatThrownBy(() -> vsock.restore(new VirtioVsockState(1, CID + 1, state.nextLocalPort())))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void survivesAHostileDriver() throws IOException {
        path = dir.resolve("v.sock");
        vsock = new VirtioVsock(CID, path);
        driver = new VirtioTestDriver(memory, new VirtioPciFunction("virtio-vsock", memory, vsock, m -> { }));
        long data = VirtioTestDriver.DATA;
        VirtioFuzzer.Outcome o = new VirtioFuzzer(driver, 16, (d, queue, table, first, random) -> {
            if (queue != VsockGuest.TX) {
                int length = queue == VsockGuest.EVENT ? 4 : VsockHeader.SIZE + random.nextInt(256);
                d.descriptor(table, first, data + 0x2000, length, Virtqueue.DESC_F_WRITE, 0);
                return 1;
            }
            int length = random.nextInt(64);
            memory.setU64(data, random.nextInt(8) == 0 ? random.nextLong() : CID);
            memory.setU64(data + 8, random.nextInt(8) == 0 ? random.nextInt(4) : VirtioVsock.HOST_CID);
            memory.setU32(data + 16, random.nextInt(4));
            memory.setU32(data + 20, 6000 + random.nextInt(4));
            memory.setU32(data + 24, random.nextInt(16) == 0 ? random.nextInt() & 0xFFFF_FFFFL : length);
            memory.setU16(data + 28, random.nextInt(8) == 0 ? random.nextInt(4) : VsockHeader.TYPE_STREAM);
            memory.setU16(data + 30, random.nextInt(9));
            memory.setU32(data + 32, random.nextInt(4));
            memory.setU32(data + 36, random.nextInt(1 << 17));
            memory.setU32(data + 40, random.nextInt(1 << 17));
            d.descriptor(table, first, data, VsockHeader.SIZE, Virtqueue.DESC_F_NEXT, first + 1);
            d.descriptor(table, first + 1, data + 0x1000, length, 0, 0);
            return 2;
        }).run(0x5EED_0007L, 100_000);
        assertThat(o.completed()).isGreaterThan(5_000);
        assertThat(o.resets()).isGreaterThan(5_000);
        assertThat(o.allocatedAfterWarmup()).as("bytes allocated by kicks after warm-up").isLessThan(64 * 1024);
        assertThat(o.slowestKickNanos()).isLessThan(2_000_000_000L);
    }
}
