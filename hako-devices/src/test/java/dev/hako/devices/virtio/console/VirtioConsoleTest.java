package dev.hako.devices.virtio.console;

import static dev.hako.devices.virtio.VirtioTestDriver.DATA;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.memory.GuestMemory;
import dev.hako.devices.backend.CharBackend;
import dev.hako.devices.backend.CharFrontend;
import dev.hako.devices.virtio.VirtioFeatures;
import dev.hako.devices.virtio.VirtioFuzzer;
import dev.hako.devices.virtio.VirtioPciFunction;
import dev.hako.devices.virtio.VirtioTestDriver;
import dev.hako.devices.virtio.Virtqueue;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** virtio-console port 0: guest output to the backend, host input from another thread, emerg_wr, a hostile driver. */
class VirtioConsoleTest {
    private static final int WRITE = Virtqueue.DESC_F_WRITE, NEXT = Virtqueue.DESC_F_NEXT;
    private static final int RX = VirtioConsole.RECEIVE_QUEUE, TX = VirtioConsole.TRANSMIT_QUEUE;
    private final Arena arena = Arena.ofShared();
    private final GuestMemory memory = new GuestMemory(arena.allocate(4 << 20, 4096));
    private final ByteArrayOutputStream output = new ByteArrayOutputStream();
    private CharFrontend frontend;
    private final CharBackend backend = new CharBackend() {
        @Override
        public synchronized void write(int b) {
            output.write(b);
        }

        @Override
        public void attach(CharFrontend f) {
            frontend = f;
        }
    };
    private VirtioConsole console;
    private VirtioTestDriver driver;

    @AfterEach
    void close() {
        arena.close();
    }

    private void start() {
        start(backend);
    }

    private void start(CharBackend using) {
        console = new VirtioConsole(using);
        driver = new VirtioTestDriver(memory, new VirtioPciFunction("virtio-console", memory, console, m -> { }));
        assertThat(driver.negotiate(driver.deviceFeatures())).isTrue();
        driver.setupQueue(RX, 16, 0);
        driver.setupQueue(TX, 16, 1);
        driver.driverOk();
    }

    private String written() {
        synchronized (backend) {
            return output.toString(StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void guestOutputReachesTheBackendInOrder() {
        start();
        assertThat(driver.deviceFeatures() & ~VirtioFeatures.TRANSPORT).isEqualTo(1L << VirtioConsole.F_EMERG_WRITE);
        memory.write(DATA, "hello ".getBytes(StandardCharsets.US_ASCII), 0, 6);
        memory.write(DATA + 0x100, "hvc0\n".getBytes(StandardCharsets.US_ASCII), 0, 5);
        driver.queueDescriptor(TX, 0, DATA, 6, NEXT, 1);
        driver.queueDescriptor(TX, 1, DATA + 0x100, 5, 0, 0);
        driver.publish(TX, 0);
        driver.kick(TX);
        assertThat(driver.usedIdx(TX)).isEqualTo(1);
        assertThat(written()).isEqualTo("hello hvc0\n");
        driver.bar().write(0, VirtioPciFunction.DEVICE_OFFSET + VirtioConsole.CFG_EMERG_WR, 4, '!');
        assertThat(written()).endsWith("!");
        assertThat(driver.bar().read(0, VirtioPciFunction.DEVICE_OFFSET + VirtioConsole.CFG_MAX_NR_PORTS, 4))
                .isEqualTo(1);
    }

    @Test
    void hostInputFromAnotherThreadFillsReceiveBuffersAndWaitsForMore() throws Exception {
        start();
        driver.queueDescriptor(RX, 0, DATA, 4, WRITE, 0);
        driver.publish(RX, 0);
        driver.kick(RX);
        assertThat(driver.usedIdx(RX)).as("no input yet: the buffer stays with the device").isZero();
        Thread typist = Thread.ofPlatform().start(() -> {
            for (byte b : "abcdefg".getBytes(StandardCharsets.US_ASCII)) {
                while (!frontend.receive(b)) {
                    Thread.onSpinWait();
                }
            }
        });
        typist.join();
        assertThat(driver.usedIdx(RX)).isEqualTo(1);
        assertThat(driver.usedLength(RX, 0)).isEqualTo(1);
        assertThat((char) memory.getU8(DATA)).as("the first byte took the only buffer").isEqualTo('a');
        assertThat(frontend.receiveSpace()).isEqualTo(VirtioConsole.INPUT_BUFFER - 6);
        driver.queueDescriptor(RX, 1, DATA + 0x100, 16, WRITE, 0);
        driver.publish(RX, 1);
        driver.kick(RX);
        assertThat(driver.usedIdx(RX)).isEqualTo(2);
        assertThat(driver.usedLength(RX, 1)).isEqualTo(6);
        byte[] got = new byte[6];
        memory.read(DATA + 0x100, got, 0, 6);
        assertThat(new String(got, StandardCharsets.US_ASCII)).isEqualTo("bcdefg");
    }

    /**
     * A typist and a driver on two threads, the driver re-posting each small buffer as soon as it read it and
     * notifying only when the event index asks (as Linux does): every byte arrives, in order.
     */
    @Test
    void inputRacingTheDriverArrivesWhole() throws Exception {
        start();
        int total = 200_000;
        int buffers = 16;
        for (int i = 0; i < buffers; i++) {
            driver.queueDescriptor(RX, i, DATA + 16L * i, 3, WRITE, 0);
            driver.publish(RX, i);
        }
        driver.kick(RX);
        Thread typist = Thread.ofPlatform().start(() -> {
            for (int i = 0; i < total; i++) {
                while (!frontend.receive(i % 251)) {
                    Thread.onSpinWait();
                }
            }
        });
        int got = 0;
        int seen = 0;
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (got < total && System.nanoTime() < deadline) {
            if (driver.usedIdx(RX) == (seen & 0xFFFF)) {
                Thread.onSpinWait();
                continue;
            }
            int id = (int) driver.usedId(RX, seen);
            long length = driver.usedLength(RX, seen);
            seen++;
            for (int k = 0; k < length; k++, got++) {
                assertThat(memory.getU8(DATA + 16L * id + k)).as("byte %d", got).isEqualTo(got % 251);
            }
            driver.publish(RX, id);
            if (driver.availEvent() == ((seen + buffers - 1) & 0xFFFF)) {
                driver.kick(RX);
            }
        }
        typist.join(5000);
        assertThat(got).isEqualTo(total);
    }

    @Test
    void pendingInputSurvivesASnapshot() {
        start();
        frontend.receive('x');
        frontend.receive('y');
        VirtioConsoleState state = console.save();
        start();
        console.restore(state);
        driver.queueDescriptor(RX, 0, DATA, 8, WRITE, 0);
        driver.publish(RX, 0);
        driver.kick(RX);
        assertThat(driver.usedLength(RX, 0)).isEqualTo(2);
        assertThat((char) memory.getU8(DATA + 1)).isEqualTo('y');
    }

    @Test
    void survivesAHostileDriver() {
        long[] transmitted = new long[1];
        start(new CharBackend() {
            @Override
            public void write(int b) {
                transmitted[0]++;  // counted, not kept: a growing buffer would allocate
            }

            @Override
            public void attach(CharFrontend f) {
                frontend = f;
            }
        });
        VirtioFuzzer.Outcome o = new VirtioFuzzer(driver, 16, (d, queue, table, first, random) -> {
            if (queue == RX) {
                frontend.receive(random.nextInt(256));
            }
            int n = 1 + random.nextInt(3);
            for (int i = 0; i < n; i++) {
                d.descriptor(table, first + i, DATA + 0x1000L * i, 1 + random.nextInt(64),
                        (queue == RX ? WRITE : 0) | (i + 1 < n ? NEXT : 0), first + i + 1);
            }
            return n;
        }).run(0x5EED_0005L, 100_000);
        assertThat(o.completed()).isGreaterThan(5_000);
        assertThat(o.resets()).isGreaterThan(5_000);
        assertThat(transmitted[0]).isPositive();
        assertThat(o.allocatedAfterWarmup()).as("bytes allocated by kicks after warm-up").isLessThan(64 * 1024);
        assertThat(o.slowestKickNanos()).isLessThan(2_000_000_000L);
    }
}
