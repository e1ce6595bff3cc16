package dev.hako.devices.virtio.net;

import static dev.hako.devices.virtio.VirtioTestDriver.DATA;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.memory.GuestMemory;
import dev.hako.devices.virtio.VirtioFeatures;
import dev.hako.devices.virtio.VirtioPciFunction;
import dev.hako.devices.virtio.VirtioTestDriver;
import dev.hako.devices.virtio.Virtqueue;
import java.lang.foreign.Arena;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** virtio-net against a miniature guest driver and a backend of queued frames. */
class VirtioNetTest {
    private static final MacAddress MAC = MacAddress.parse("52:54:00:12:34:56");
    private static final int NEXT = Virtqueue.DESC_F_NEXT, WRITE = Virtqueue.DESC_F_WRITE;
    private static final int RX = VirtioNet.RX_QUEUE, TX = VirtioNet.TX_QUEUE;
    private final Arena arena = Arena.ofShared();
    private final GuestMemory memory = new GuestMemory(arena.allocate(4 << 20, 4096));
    private FrameQueueBackend backend;
    private VirtioNet net;
    private VirtioTestDriver driver;

    @AfterEach
    void close() {
        if (net != null) {
            net.close();
        }
        arena.close();
    }

    /** The device on {@code backend}, negotiated with the device's features minus {@code refused}. */
    private void start(boolean vnetHeader, long refused) {
        start(new FrameQueueBackend(vnetHeader), refused);
    }

    private void start(FrameQueueBackend b, long refused) {
        backend = b;
        net = new VirtioNet(MAC, backend);
        VirtioPciFunction function = new VirtioPciFunction("virtio-net", memory, net, message -> { });
        driver = new VirtioTestDriver(memory, function);
        assertThat(driver.negotiate(driver.deviceFeatures() & ~refused)).isTrue();
        driver.setupQueue(RX, 16, 0);
        driver.setupQueue(TX, 16, 1);
        driver.enableMsix();
        driver.driverOk();
    }

    private static byte[] frame(int length, int seed) {
        byte[] f = new byte[length];
        for (int i = 0; i < length; i++) {
            f[i] = (byte) (i * 7 + seed);
        }
        return f;
    }

    /** Posts receive buffer {@code index} of {@code length} bytes at DATA + index * 64 KiB. */
    private void postReceive(int index, int length) {
        driver.queueDescriptor(RX, index, rxBuffer(index), length, WRITE, 0);
        driver.publish(RX, index);
    }

    private static long rxBuffer(int index) {
        return DATA + 0x1_0000L * index;
    }

    private byte[] guestBytes(long gpa, int length) {
        byte[] b = new byte[length];
        memory.read(gpa, b, 0, length);
        return b;
    }

    private static void waitFor(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("waiting for the device").isLessThan(deadline);
            Thread.sleep(2);
        }
    }

    /** Sends header + frame from the guest as two descriptors. */
    private void transmit(int head, byte[] header, byte[] frame) {
        memory.write(DATA, header, 0, header.length);
        memory.write(DATA + 0x100, frame, 0, frame.length);
        driver.queueDescriptor(TX, head, DATA, header.length, NEXT, head + 1);
        driver.queueDescriptor(TX, head + 1, DATA + 0x100, frame.length, 0, 0);
        driver.publish(TX, head);
        driver.kick(TX);
    }

    @Test
    void showsItsMacLinkAndOnlyTheOffloadsItsBackendCarries() {
        start(false, 0);
        assertThat(driver.function.config().u16(0x00)).isEqualTo(0x1AF4);
        assertThat(driver.function.config().u16(0x02)).isEqualTo(0x1041);
        for (int i = 0; i < 6; i++) {
            assertThat(driver.bar().read(0, VirtioPciFunction.DEVICE_OFFSET + i, 1)).isEqualTo(MAC.octet(i));
        }
        assertThat(driver.bar().read(0, VirtioPciFunction.DEVICE_OFFSET + VirtioNet.CFG_STATUS, 2))
                .isEqualTo(VirtioNet.STATUS_LINK_UP);
        long bare = driver.deviceFeatures();
        assertThat(VirtioFeatures.has(bare, VirtioNet.F_MRG_RXBUF)).isTrue();
        assertThat(bare & VirtioNet.TAP_OFFLOADS).as("without a header only the device's own checksumming")
                .isEqualTo(1L << VirtioNet.F_CSUM);
        assertThat(VirtioFeatures.has(bare, VirtioNet.F_MTU)).isFalse();
        net.close();
        start(true, 0);
        assertThat(driver.deviceFeatures() & VirtioNet.TAP_OFFLOADS).isEqualTo(VirtioNet.TAP_OFFLOADS);
        assertThat(backend.enabledOffloads & VirtioNet.TAP_OFFLOADS).isEqualTo(VirtioNet.TAP_OFFLOADS);
    }

    @Test
    void generatedAddressesAreStableLocalUnicastAndDifferByName() {
        MacAddress a = MacAddress.forName("vm-a");
        assertThat(MacAddress.forName("vm-a")).isEqualTo(a);
        assertThat(MacAddress.forName("vm-b")).isNotEqualTo(a);
        assertThat(a.octet(0) & 3).as("locally administered, unicast").isEqualTo(2);
        assertThat(MacAddress.parse(a.toString())).isEqualTo(a);
    }

    @Test
    void transmitsBareFramesAndDropsMalformedOnes() throws Exception {
        start(false, 1L << VirtioNet.F_CSUM);
        byte[] frame = frame(60, 1);
        transmit(0, new byte[12], frame);
        assertThat(backend.sent()).hasSize(1);
        assertThat(backend.sent().get(0)).isEqualTo(frame);
        transmit(2, new byte[12], new byte[10]);  // shorter than an Ethernet header
        byte[] csum = new byte[12];
        csum[VirtioNet.HDR_FLAGS] = VirtioNet.HDR_F_NEEDS_CSUM;  // checksum offload was never offered
        transmit(4, csum, frame);
        byte[] gso = new byte[12];
        gso[VirtioNet.HDR_GSO_TYPE] = VirtioNet.GSO_TCPV4;
        transmit(6, gso, frame);
        assertThat(backend.sent()).hasSize(1);
        assertThat(net.txDropped()).isEqualTo(3);
        assertThat(driver.usedIdx(TX)).as("every chain is returned").isEqualTo(4);
        assertThat(driver.status() & VirtioFeatures.STATUS_DEVICE_NEEDS_RESET).isZero();
    }

    @Test
    void passesTheHeaderToABackendThatTakesIt() {
        start(true, 0);
        byte[] header = new byte[12];
        header[VirtioNet.HDR_FLAGS] = VirtioNet.HDR_F_NEEDS_CSUM;
        header[VirtioNet.HDR_CSUM_START] = 34;
        header[VirtioNet.HDR_CSUM_OFFSET] = 16;
        byte[] frame = frame(200, 3);
        transmit(0, header, frame);
        byte[] expected = new byte[212];
        System.arraycopy(header, 0, expected, 0, 12);
        System.arraycopy(frame, 0, expected, 12, 200);
        assertThat(backend.sent()).hasSize(1);
        assertThat(backend.sent().get(0)).isEqualTo(expected);
        header[VirtioNet.HDR_CSUM_START] = (byte) 199;  // the checksum would land past the frame
        transmit(2, header, frame);
        assertThat(backend.sent()).hasSize(1);
        assertThat(net.txDropped()).isEqualTo(1);
    }

    /** An Ethernet + IPv4 + TCP frame whose checksum field holds the pseudo-header's sum, as Linux leaves it. */
    private static byte[] tcpFrameWithPartialChecksum(int payload) {
        byte[] f = frame(54 + payload, 11);
        f[12] = 0x08;
        f[13] = 0x00;
        f[14] = 0x45;
        int ipLength = 20 + 20 + payload;
        f[16] = (byte) (ipLength >> 8);
        f[17] = (byte) ipLength;
        f[23] = 6;  // TCP
        long pseudo = 0;
        for (int i = 26; i < 34; i += 2) {  // source and destination addresses
            pseudo += (f[i] & 0xFF) << 8 | f[i + 1] & 0xFF;
        }
        pseudo += 6 + 20 + payload;
        int folded = InternetChecksum.fold(pseudo);
        f[50] = (byte) (folded >> 8);
        f[51] = (byte) folded;
        return f;
    }

    /** The checksum of the TCP segment at 34 with its pseudo-header, summed 16 bits at a time: 0 when right. */
    private static int verifyTcp(byte[] f) {
        long sum = 0;
        for (int i = 26; i < 34; i += 2) {
            sum += (f[i] & 0xFF) << 8 | f[i + 1] & 0xFF;
        }
        sum += 6 + f.length - 34;
        for (int i = 34; i < f.length; i += 2) {
            sum += (f[i] & 0xFF) << 8 | (i + 1 < f.length ? f[i + 1] & 0xFF : 0);
        }
        while (sum >> 16 != 0) {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return ~(int) sum & 0xFFFF;
    }

    @Test
    void completesTheChecksumTheGuestLeftToADeviceWithoutHeader() {
        start(false, 0);
        assertThat(VirtioFeatures.has(driver.deviceFeatures(), VirtioNet.F_CSUM)).isTrue();
        for (int payload : new int[] {0, 1, 2, 3, 1000, 1459}) {
            byte[] header = new byte[12];
            header[VirtioNet.HDR_FLAGS] = VirtioNet.HDR_F_NEEDS_CSUM;
            header[VirtioNet.HDR_CSUM_START] = 34;
            header[VirtioNet.HDR_CSUM_OFFSET] = 16;
            byte[] frame = tcpFrameWithPartialChecksum(payload);
            assertThat(verifyTcp(frame)).as("the partial checksum alone is not right").isNotZero();
            transmit(0, header, frame);
            byte[] sent = backend.sent().getLast();
            assertThat(sent).hasSize(frame.length);
            assertThat(verifyTcp(sent)).as("payload %d: the checksum is right", payload).isZero();
            assertThat(java.util.Arrays.copyOfRange(sent, 52, sent.length))
                    .isEqualTo(java.util.Arrays.copyOfRange(frame, 52, frame.length));
        }
        assertThat(net.txDropped()).isZero();
    }

    @Test
    void givesTheBackendsMtuAndMarksItsCheckedFramesValid() throws Exception {
        FrameQueueBackend checked = new FrameQueueBackend(false);
        checked.mtu = 65520;
        checked.checksummed = true;
        start(checked, 0);
        long offered = driver.deviceFeatures();
        assertThat(VirtioFeatures.has(offered, VirtioNet.F_MTU)).isTrue();
        assertThat(VirtioFeatures.has(offered, VirtioNet.F_GUEST_CSUM)).isTrue();
        assertThat(driver.bar().read(0, VirtioPciFunction.DEVICE_OFFSET + VirtioNet.CFG_MTU, 2)).isEqualTo(65520);
        postReceive(0, 2048);
        driver.kick(RX);
        backend.queue(frame(100, 4));
        waitFor(() -> driver.usedIdx(RX) == 1);
        assertThat(memory.getU8(rxBuffer(0) + VirtioNet.HDR_FLAGS)).isEqualTo(VirtioNet.HDR_F_DATA_VALID);
    }

    @Test
    void aFullBackendLeavesFramesInTheRingUntilItHasRoom() throws Exception {
        start(false, 0);
        backend.refuse = true;
        transmit(0, new byte[12], frame(100, 5));
        assertThat(driver.usedIdx(TX)).as("the chain waits in the ring").isZero();
        backend.refuse = false;
        waitFor(() -> driver.usedIdx(TX) == 1);
        assertThat(backend.sent()).hasSize(1);
        assertThat(net.txDropped()).isZero();
    }

    @Test
    void aFrameSpreadsOverMergeableBuffersCountedInNumBuffers() throws Exception {
        start(false, 0);
        for (int i = 0; i < 4; i++) {
            postReceive(i, 1536);
        }
        driver.kick(RX);
        byte[] frame = frame(4000, 9);
        backend.queue(frame);
        waitFor(() -> driver.usedIdx(RX) == 3);
        assertThat(memory.getU16(rxBuffer(0) + VirtioNet.HDR_NUM_BUFFERS)).isEqualTo(3);
        assertThat(memory.getU8(rxBuffer(0) + VirtioNet.HDR_FLAGS)).isZero();
        byte[] received = new byte[4000];
        int at = 0;
        for (int i = 0; i < 3; i++) {
            int length = (int) driver.usedLength(RX, i);
            int skip = i == 0 ? 12 : 0;
            byte[] part = guestBytes(rxBuffer((int) driver.usedId(RX, i)) + skip, length - skip);
            System.arraycopy(part, 0, received, at, part.length);
            at += part.length;
        }
        assertThat(at).isEqualTo(4000);
        assertThat(received).isEqualTo(frame);
        assertThat(net.rxFrames()).isEqualTo(1);
    }

    @Test
    void withoutBuffersFramesWaitInTheBackendAndFlowOnceTheGuestPostsSome() throws Exception {
        start(false, 0);
        driver.kick(RX);
        for (int i = 0; i < 5; i++) {
            backend.queue(frame(64, i));
        }
        Thread.sleep(50);
        assertThat(backend.queued()).as("hako holds at most one frame").isGreaterThanOrEqualTo(4);
        assertThat(driver.usedIdx(RX)).isZero();
        for (int i = 0; i < 5; i++) {
            postReceive(i, 2048);
        }
        driver.kick(RX);
        waitFor(() -> driver.usedIdx(RX) == 5);
        for (int i = 0; i < 5; i++) {
            assertThat(driver.usedLength(RX, i)).isEqualTo(12 + 64);
            assertThat(guestBytes(rxBuffer((int) driver.usedId(RX, i)) + 12, 64)).isEqualTo(frame(64, i));
        }
        assertThat(net.rxDropped()).isZero();
    }

    @Test
    void withoutMergeableBuffersAFrameTooLongForItsBufferIsDroppedAndCounted() throws Exception {
        start(false, 1L << VirtioNet.F_MRG_RXBUF);
        postReceive(0, 1526);
        postReceive(1, 1526);
        driver.kick(RX);
        backend.queue(frame(3000, 1));
        backend.queue(frame(1500, 2));
        waitFor(() -> driver.usedIdx(RX) == 1);
        assertThat(net.rxDropped()).isEqualTo(1);
        assertThat(driver.usedLength(RX, 0)).isEqualTo(1512);
        assertThat(memory.getU16(rxBuffer((int) driver.usedId(RX, 0)) + VirtioNet.HDR_NUM_BUFFERS)).isEqualTo(1);
        assertThat(guestBytes(rxBuffer((int) driver.usedId(RX, 0)) + 12, 1500)).isEqualTo(frame(1500, 2));
    }

    @Test
    void theLinkGoesDownWhenTheBackendEnds() throws Exception {
        start(false, 0);
        postReceive(0, 2048);
        driver.kick(RX);
        backend.ended = true;
        backend.queue(frame(64, 0));
        waitFor(() -> !net.linkUp());
        assertThat(driver.bar().read(0, VirtioPciFunction.DEVICE_OFFSET + VirtioNet.CFG_STATUS, 2)).isZero();
        assertThat(driver.common(VirtioPciFunction.CONFIG_GENERATION, 1)).as("a configuration change").isEqualTo(1);
    }

    @Test
    void closingEndsTheBackend() {
        start(false, 0);
        net.close();
        assertThat(backend.closed).isTrue();
        net = null;
    }
}
