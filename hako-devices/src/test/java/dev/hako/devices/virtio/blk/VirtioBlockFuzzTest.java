package dev.hako.devices.virtio.blk;

import static dev.hako.devices.virtio.VirtioTestDriver.DATA;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.memory.GuestMemory;
import dev.hako.devices.virtio.MemoryBlockBackend;
import dev.hako.devices.virtio.VirtioFuzzer;
import dev.hako.devices.virtio.VirtioPciFunction;
import dev.hako.devices.virtio.VirtioTestDriver;
import dev.hako.devices.virtio.Virtqueue;
import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

/**
 * The {@link VirtioFuzzer}'s 100,000 rounds of random and mutated descriptor tables, available rings and BAR
 * writes against virtio-blk, read-write and read-only, with well-formed requests of every type to mutate. Nothing
 * may escape as an exception; rounds end with requests completed or the device in DEVICE_NEEDS_RESET; no kick
 * takes long; once warm, kicks allocate nothing; and no write ever reaches a read-only disk.
 */
class VirtioBlockFuzzTest {
    private static final int ROUNDS = 100_000, QUEUE = 16;
    private static final long HEADER = DATA, STATUS = DATA + 0x100, BUFFER = DATA + 0x1000;
    private static final int NEXT = Virtqueue.DESC_F_NEXT, WRITE = Virtqueue.DESC_F_WRITE;
    private static final int[] TYPES = {VirtioBlock.T_IN, VirtioBlock.T_OUT, VirtioBlock.T_FLUSH,
        VirtioBlock.T_GET_ID, VirtioBlock.T_DISCARD, VirtioBlock.T_WRITE_ZEROES};

    @Test
    void readWriteDiskSurvivesAHostileDriver() {
        fuzz(false, 0x5EED_0001L);
    }

    @Test
    void readOnlyDiskSurvivesAHostileDriver() {
        fuzz(true, 0x5EED_0002L);
    }

    private static void fuzz(boolean readOnly, long seed) {
        try (Arena arena = Arena.ofConfined(); MemoryBlockBackend backend = new MemoryBlockBackend(1 << 20, readOnly)) {
            GuestMemory memory = new GuestMemory(arena.allocate(4 << 20, 4096));
            VirtioPciFunction function = new VirtioPciFunction("fuzz", memory, new VirtioBlock(backend, "fuzz"),
                    message -> { });
            VirtioFuzzer.Outcome o = new VirtioFuzzer(new VirtioTestDriver(memory, function), QUEUE,
                    (driver, queue, table, first, random) -> {
                        // A request of a random type: header, data (or discard/write-zeroes segment), status.
                        int type = TYPES[random.nextInt(TYPES.length)];
                        memory.setU32(HEADER, type);
                        memory.setU64(HEADER + 8, random.nextInt(2200));
                        memory.setU64(BUFFER, random.nextInt(2100));
                        memory.setU32(BUFFER + 8, random.nextInt(64));
                        memory.setU32(BUFFER + 12, random.nextInt(3) == 0 ? 1 : 0);
                        boolean segment = type == VirtioBlock.T_DISCARD || type == VirtioBlock.T_WRITE_ZEROES;
                        int dataFlags = type == VirtioBlock.T_OUT || segment ? NEXT : NEXT | WRITE;
                        int length = segment ? 16 : type == VirtioBlock.T_GET_ID ? 20 : 512 * (1 + random.nextInt(8));
                        driver.descriptor(table, first, HEADER, 16, NEXT, first + 1);
                        driver.descriptor(table, first + 1, BUFFER, length, dataFlags, first + 2);
                        driver.descriptor(table, first + 2, STATUS, 1, WRITE, 0);
                        return 3;
                    }).run(seed, ROUNDS);
            assertThat(o.completed()).as("some requests are well formed").isGreaterThan(ROUNDS / 20);
            assertThat(o.resets()).as("some are not").isGreaterThan(ROUNDS / 20);
            assertThat(o.allocatedAfterWarmup()).as("bytes allocated by kicks after warm-up").isLessThan(64 * 1024);
            assertThat(o.slowestKickNanos()).isLessThan(2_000_000_000L);
            assertThat(backend.readOnlyViolations).as("writes that reached a read-only backend").isZero();
        }
    }
}
