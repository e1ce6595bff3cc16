package dev.hako.devices.virtio.net;

import static dev.hako.devices.virtio.VirtioTestDriver.DATA;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.memory.GuestMemory;
import dev.hako.devices.backend.NetBackend;
import dev.hako.devices.virtio.VirtioFuzzer;
import dev.hako.devices.virtio.VirtioPciFunction;
import dev.hako.devices.virtio.VirtioTestDriver;
import dev.hako.devices.virtio.Virtqueue;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The {@link VirtioFuzzer}'s 100,000 rounds against virtio-net, with and without the virtio-net header, over a
 * backend that mostly has a frame of random length (up to past the largest) for the guest: mutated transmit
 * chains with random header fields, mutated receive buffers, random tables, available indexes and BAR writes.
 * Nothing may escape as an exception, kicks stay short and allocate nothing once warm, malformed frames are
 * counted as drops, and every frame the backend was handed is a frame the checks let through.
 */
class VirtioNetFuzzTest {
    private static final int ROUNDS = 100_000, QUEUE = 16;
    private static final long HEADER = DATA, FRAME = DATA + 0x100, RX_BUFFER = DATA + 0x2_0000;
    private static final int NEXT = Virtqueue.DESC_F_NEXT, WRITE = Virtqueue.DESC_F_WRITE;

    /** Always a frame for the guest (of a length that sometimes fits nothing); counts what the guest sends. */
    private static final class EndlessBackend implements NetBackend {
        private final boolean vnetHeader;
        private final SplittableRandom random = new SplittableRandom(7);
        private final byte[] pattern = new byte[VirtioNet.MAX_FRAME + 4096];
        volatile long sent, badlySized;

        EndlessBackend(boolean vnetHeader) {
            this.vnetHeader = vnetHeader;
        }

        @Override
        public boolean vnetHeader() {
            return vnetHeader;
        }

        @Override
        public long offloads() {
            return vnetHeader ? VirtioNet.TAP_OFFLOADS : 0;
        }

        @Override
        public void enableOffloads(long features) {
        }

        @Override
        public synchronized int receive(ByteBuffer into) {
            if (random.nextInt(3) == 0) {
                return 0;  // nothing more for now
            }
            int length = random.nextInt(8) == 0 ? random.nextInt(VirtioNet.MAX_FRAME) : random.nextInt(2000);
            length = Math.min(length, into.remaining());
            into.put(pattern, 0, length);
            return length;
        }

        @Override
        public synchronized boolean send(ByteBuffer frame) {
            int frameLength = frame.remaining() - (vnetHeader ? VNET_HEADER : 0);
            if (frameLength < VirtioNet.MIN_FRAME || frameLength > VirtioNet.MAX_FRAME) {
                badlySized++;
            }
            sent++;
            return random.nextInt(20) != 0;  // now and then full
        }

        @Override
        public boolean await(boolean frames, long millis) throws java.io.IOException {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return true;
        }

        @Override
        public long dropped() {
            return 0;
        }

        @Override
        public void close() {
        }
    }

    @Test
    void bareFramesSurviveAHostileDriver() {
        fuzz(false, 0x5EED_0201L);
    }

    @Test
    void framesWithTheHeaderSurviveAHostileDriver() {
        fuzz(true, 0x5EED_0202L);
    }

    private static void fuzz(boolean vnetHeader, long seed) {
        EndlessBackend backend = new EndlessBackend(vnetHeader);
        try (Arena arena = Arena.ofShared(); VirtioNet net = new VirtioNet(MacAddress.forName("fuzz"), backend)) {
            GuestMemory memory = new GuestMemory(arena.allocate(4 << 20, 4096));
            VirtioPciFunction function = new VirtioPciFunction("fuzz", memory, net, message -> { });
            VirtioFuzzer.Outcome o = new VirtioFuzzer(new VirtioTestDriver(memory, function), QUEUE,
                    (driver, queue, table, first, random) -> {
                        if (queue == VirtioNet.RX_QUEUE) {
                            // One or two device-writable buffers, some too short for a header.
                            int parts = 1 + random.nextInt(2);
                            for (int i = 0; i < parts; i++) {
                                driver.descriptor(table, first + i, RX_BUFFER + 0x1000L * i,
                                        random.nextInt(8) == 0 ? random.nextInt(16) : 64 + random.nextInt(3000),
                                        WRITE | (i + 1 < parts ? NEXT : 0), first + i + 1);
                            }
                            return parts;
                        }
                        // A header of random offload requests, then a frame of random length.
                        memory.setU8(HEADER, random.nextInt(4));
                        memory.setU8(HEADER + 1, new int[] {0, 1, 3, 4, 0x81, random.nextInt(256)}[random.nextInt(6)]);
                        memory.setU16(HEADER + 4, random.nextInt(3) == 0 ? 0 : 1448);
                        memory.setU16(HEADER + 6, random.nextInt(100));
                        memory.setU16(HEADER + 8, random.nextInt(20));
                        int length = random.nextInt(8) == 0 ? random.nextInt(80_000) : random.nextInt(1600);
                        driver.descriptor(table, first, HEADER, 12, NEXT, first + 1);
                        driver.descriptor(table, first + 1, FRAME, length, 0, 0);
                        return 2;
                    }).run(seed, ROUNDS);
            assertThat(o.completed()).as("some requests are well formed").isGreaterThan(ROUNDS / 20);
            assertThat(o.resets()).as("some are not").isGreaterThan(ROUNDS / 20);
            assertThat(o.allocatedAfterWarmup()).as("bytes allocated by kicks after warm-up").isLessThan(64 * 1024);
            assertThat(o.slowestKickNanos()).isLessThan(2_000_000_000L);
            assertThat(net.txDropped()).as("malformed frames dropped and counted").isGreaterThan(ROUNDS / 100);
            assertThat(net.rxDropped()).as("frames too long for the buffers dropped and counted").isPositive();
            assertThat(net.rxFrames()).isPositive();
            assertThat(backend.badlySized).as("frames of impossible sizes that reached the backend").isZero();
            assertThat(net.txFrames()).isPositive();
        }
    }
}
