package dev.hako.devices.virtio.blk;

import static dev.hako.devices.virtio.VirtioTestDriver.AVAIL;
import static dev.hako.devices.virtio.VirtioTestDriver.DATA;
import static dev.hako.devices.virtio.VirtioTestDriver.DESC;
import static dev.hako.devices.virtio.VirtioTestDriver.INDIRECT;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.management.ThreadMXBean;
import dev.hako.core.memory.GuestMemory;
import dev.hako.devices.virtio.MemoryBlockBackend;
import dev.hako.devices.virtio.VirtioFeatures;
import dev.hako.devices.virtio.VirtioPciFunction;
import dev.hako.devices.virtio.VirtioTestDriver;
import dev.hako.devices.virtio.Virtqueue;
import java.lang.foreign.Arena;
import java.lang.management.ManagementFactory;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A hostile driver: 100,000 rounds of random and mutated descriptor tables, available rings and BAR writes
 * against virtio-blk (read-write and read-only). Nothing may escape as an exception; each round ends with the
 * requests completed with a valid status or the device in DEVICE_NEEDS_RESET; no kick takes long; and once warm,
 * the processing path (the notify write and everything it triggers) allocates nothing.
 */
class VirtioBlockFuzzTest {
    private static final int ROUNDS = 100_000, QUEUE = 16;
    private static final long STATUS = DATA + 0x100, BUFFER = DATA + 0x1000;
    private static final int NEXT = Virtqueue.DESC_F_NEXT, WRITE = Virtqueue.DESC_F_WRITE,
            INDIRECT_FLAG = Virtqueue.DESC_F_INDIRECT;
    private static final ThreadMXBean THREADS = (ThreadMXBean) ManagementFactory.getThreadMXBean();

    private record Outcome(int completed, int resets, long allocatedAfterWarmup, long slowestKickNanos,
                           long readOnlyViolations) {}

    @Test
    void readWriteDiskSurvivesAHostileDriver() {
        Outcome o = fuzz(false, 0x5EED_0001L);
        assertThat(o.completed()).as("some requests are well formed").isGreaterThan(ROUNDS / 20);
        assertThat(o.resets()).as("some are not").isGreaterThan(ROUNDS / 20);
        assertThat(o.allocatedAfterWarmup()).as("bytes allocated by kicks after warm-up").isLessThan(64 * 1024);
        assertThat(o.slowestKickNanos()).isLessThan(2_000_000_000L);
        assertThat(o.readOnlyViolations()).isZero();
    }

    @Test
    void readOnlyDiskSurvivesAHostileDriver() {
        Outcome o = fuzz(true, 0x5EED_0002L);
        assertThat(o.completed()).isGreaterThan(ROUNDS / 20);
        assertThat(o.allocatedAfterWarmup()).isLessThan(64 * 1024);
        assertThat(o.readOnlyViolations()).as("writes that reached the read-only backend").isZero();
    }

    private Outcome fuzz(boolean readOnly, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        try (Arena arena = Arena.ofConfined(); MemoryBlockBackend backend = new MemoryBlockBackend(1 << 20, readOnly)) {
            GuestMemory memory = new GuestMemory(arena.allocate(4 << 20, 4096));
            VirtioPciFunction function = new VirtioPciFunction("fuzz", memory, new VirtioBlock(backend, "fuzz"),
                    message -> { });
            VirtioTestDriver driver = new VirtioTestDriver(memory, function);
            long features = driver.deviceFeatures();
            int completed = 0;
            int resets = 0;
            long allocated = 0;
            long slowest = 0;
            boolean needsSetup = true;
            for (int round = 0; round < ROUNDS; round++) {
                if (needsSetup) {
                    driver.negotiate(features & (random.nextBoolean() ? -1L : ~(1L << VirtioFeatures.RING_EVENT_IDX)));
                    driver.setupQueue(0, QUEUE, 0);
                    driver.enableMsix();
                    driver.driverOk();
                    needsSetup = false;
                }
                int usedBefore = driver.usedIdx();
                memory.setU8(STATUS, 0xEE);
                int kind = random.nextInt(10);
                if (kind < 4) {
                    mutatedRequest(driver, memory, random);
                } else if (kind < 8) {
                    randomTable(driver, memory, random);
                } else if (kind == 8) {
                    memory.setU16(AVAIL + 2, random.nextInt(0x10000));
                } else {
                    randomBarWrite(driver, random);
                }
                long before = THREADS.getCurrentThreadAllocatedBytes();
                long start = System.nanoTime();
                driver.kick(0);
                slowest = Math.max(slowest, System.nanoTime() - start);
                long delta = THREADS.getCurrentThreadAllocatedBytes() - before;
                if (round >= ROUNDS / 10) {
                    allocated += delta;
                }
                int status = driver.status();
                if ((status & VirtioFeatures.STATUS_DEVICE_NEEDS_RESET) != 0) {
                    resets++;
                    needsSetup = true;
                } else if ((status & VirtioFeatures.STATUS_DRIVER_OK) == 0) {
                    needsSetup = true;  // a random BAR write reset or reconfigured the device
                } else {
                    int done = (driver.usedIdx() - usedBefore) & 0xFFFF;
                    for (int i = 0; i < done; i++) {
                        assertThat(driver.usedId(usedBefore + i)).isLessThan(QUEUE);
                        assertThat(driver.usedLength(usedBefore + i)).isBetween(1L, (long) memory.size());
                    }
                    completed += done;
                    if (kind < 4 && done == 1 && memory.getU8(STATUS) != 0xEE) {
                        assertThat(memory.getU8(STATUS)).isIn(VirtioBlock.S_OK, VirtioBlock.S_IOERR,
                                VirtioBlock.S_UNSUPP);
                    }
                    if (random.nextInt(50) == 0) {
                        needsSetup = true;  // start over now and then, so the avail index is not always small
                    }
                }
            }
            return new Outcome(completed, resets, allocated, slowest, backend.readOnlyViolations);
        }
    }

    /** A well-formed request of a random type, then one random field changed (or none). */
    private static void mutatedRequest(VirtioTestDriver driver, GuestMemory memory, SplittableRandom random) {
        int[] types = {VirtioBlock.T_IN, VirtioBlock.T_OUT, VirtioBlock.T_FLUSH, VirtioBlock.T_GET_ID,
                VirtioBlock.T_DISCARD, VirtioBlock.T_WRITE_ZEROES};
        int type = types[random.nextInt(types.length)];
        int head = random.nextInt(QUEUE - 3);
        memory.setU32(DATA, type);
        memory.setU64(DATA + 8, random.nextInt(2200));
        memory.setU64(BUFFER, random.nextInt(2100));
        memory.setU32(BUFFER + 8, random.nextInt(64));
        memory.setU32(BUFFER + 12, random.nextInt(3) == 0 ? 1 : 0);
        boolean segment = type == VirtioBlock.T_DISCARD || type == VirtioBlock.T_WRITE_ZEROES;
        int dataFlags = type == VirtioBlock.T_OUT || segment ? NEXT : NEXT | WRITE;
        int length = segment ? 16 : type == VirtioBlock.T_GET_ID ? 20 : 512 * (1 + random.nextInt(8));
        driver.descriptor(head, DATA, 16, NEXT, head + 1);
        driver.descriptor(head + 1, BUFFER, length, dataFlags, head + 2);
        driver.descriptor(head + 2, STATUS, 1, WRITE, 0);
        if (random.nextInt(4) == 0) {  // the same request through an indirect table
            driver.descriptor(INDIRECT, 0, DATA, 16, NEXT, 1);
            driver.descriptor(INDIRECT, 1, BUFFER, length, dataFlags, 2);
            driver.descriptor(INDIRECT, 2, STATUS, 1, WRITE, 0);
            driver.descriptor(head, INDIRECT, 48, INDIRECT_FLAG, 0);
        }
        int mutation = random.nextInt(8);
        long table = memory.getU16(DESC + 16L * head + 12) == INDIRECT_FLAG ? INDIRECT : DESC;
        int index = table == INDIRECT ? random.nextInt(3) : head + random.nextInt(3);
        long at = table + 16L * index;
        switch (mutation) {
            case 0 -> memory.setU64(at, random.nextLong());
            case 1 -> memory.setU32(at + 8, random.nextInt());
            case 2 -> memory.setU16(at + 12, random.nextInt(8));
            case 3 -> memory.setU16(at + 14, random.nextInt(64));
            case 4 -> memory.setU32(DATA, random.nextInt(20));
            case 5 -> memory.setU64(DATA + 8, random.nextLong());
            default -> {
                // unchanged
            }
        }
        driver.publish(head);
    }

    /** A descriptor table of random entries around the data area, and a random head. */
    private static void randomTable(VirtioTestDriver driver, GuestMemory memory, SplittableRandom random) {
        for (int i = 0; i < QUEUE; i++) {
            long address = switch (random.nextInt(4)) {
                case 0 -> random.nextLong();
                case 1 -> memory.size() - random.nextInt(4096);
                default -> DATA + random.nextInt(0x10000);
            };
            long length = random.nextInt(3) == 0 ? random.nextInt() & 0xFFFF_FFFFL : random.nextInt(2048);
            int flags = random.nextInt(8) & (random.nextInt(4) == 0 ? INDIRECT_FLAG | NEXT | WRITE : NEXT | WRITE);
            if ((flags & INDIRECT_FLAG) != 0) {
                address = INDIRECT;
                length = 16L * random.nextInt(4);
            }
            driver.descriptor(i, address, length, flags, random.nextInt(QUEUE + 2));
        }
        for (int i = 0; i < 4; i++) {
            driver.descriptor(INDIRECT, i, DATA + random.nextInt(4096), random.nextInt(1024),
                    random.nextInt(8), random.nextInt(5));
        }
        driver.publish(random.nextInt(QUEUE));
    }

    /** A write of random size and value at a random place of the BAR (common, ISR, device, notify, MSI-X). */
    private static void randomBarWrite(VirtioTestDriver driver, SplittableRandom random) {
        int[] sizes = {1, 2, 4, 8};
        long offset = switch (random.nextInt(4)) {
            case 0 -> random.nextInt(VirtioPciFunction.COMMON_LENGTH + 8);
            case 1 -> VirtioPciFunction.DEVICE_OFFSET + random.nextInt(VirtioBlock.CONFIG_SIZE + 8);
            case 2 -> VirtioPciFunction.MSIX_TABLE_OFFSET + random.nextInt(64);
            default -> random.nextInt(VirtioPciFunction.BAR_SIZE);
        };
        int size = sizes[random.nextInt(sizes.length)];
        long value = random.nextInt(3) == 0 ? random.nextLong() : random.nextInt(32);
        if (offset == VirtioPciFunction.COMMON_OFFSET + VirtioPciFunction.DEVICE_STATUS && random.nextBoolean()) {
            return;  // keep most rounds running with the driver's status
        }
        driver.bar().write(0, offset, size, value);
        driver.bar().read(0, random.nextInt(VirtioPciFunction.BAR_SIZE), sizes[random.nextInt(sizes.length)]);
    }
}
