package dev.hako.devices.virtio;

import static dev.hako.devices.virtio.VirtioTestDriver.AVAIL;
import static dev.hako.devices.virtio.VirtioTestDriver.DATA;
import static dev.hako.devices.virtio.VirtioTestDriver.DESC;
import static dev.hako.devices.virtio.VirtioTestDriver.INDIRECT;
import static dev.hako.devices.virtio.VirtioTestDriver.QUEUE_STRIDE;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.management.ThreadMXBean;
import dev.hako.core.memory.GuestMemory;
import java.lang.management.ManagementFactory;
import java.util.SplittableRandom;

/**
 * A hostile driver for any virtio device on the PCI transport: rounds of well-formed requests with one field
 * mutated, random descriptor tables, random available indexes and random BAR writes, on a random queue each
 * round. It asserts that nothing escapes as an exception, that every completion names a head inside the queue
 * with a length inside RAM, and measures resets, completions, the slowest kick and the bytes kicks allocate once
 * warm. Queues are {@code queueSize} entries at the {@link VirtioTestDriver} places.
 */
public final class VirtioFuzzer {
    private static final int NEXT = Virtqueue.DESC_F_NEXT, WRITE = Virtqueue.DESC_F_WRITE,
            INDIRECT_FLAG = Virtqueue.DESC_F_INDIRECT;
    private static final ThreadMXBean THREADS = (ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** Writes one well-formed request for {@code queue} as descriptors {@code first..} of {@code table}. */
    @FunctionalInterface
    public interface RequestWriter {
        /** @return how many descriptors (at most 3) the request uses, chained first, first+1, ... */
        int write(VirtioTestDriver driver, int queue, long table, int first, SplittableRandom random);
    }

    public record Outcome(int completed, int resets, long allocatedAfterWarmup, long slowestKickNanos) {}

    private final VirtioTestDriver driver;
    private final GuestMemory memory;
    private final int queueSize;
    private final RequestWriter requests;

    public VirtioFuzzer(VirtioTestDriver driver, int queueSize, RequestWriter requests) {
        this.driver = driver;
        this.memory = driver.memory;
        this.queueSize = queueSize;
        this.requests = requests;
    }

    public Outcome run(long seed, int rounds) {
        SplittableRandom random = new SplittableRandom(seed);
        int queues = driver.function.device().queueCount();
        long features = driver.deviceFeatures();
        int completed = 0;
        int resets = 0;
        long allocated = 0;
        long slowest = 0;
        boolean needsSetup = true;
        for (int round = 0; round < rounds; round++) {
            if (needsSetup) {
                long dropped = random.nextLong() & ~VirtioFeatures.TRANSPORT & random.nextLong();
                driver.negotiate(features & ~dropped
                        & (random.nextBoolean() ? -1L : ~(1L << VirtioFeatures.RING_EVENT_IDX)));
                for (int q = 0; q < queues; q++) {
                    driver.setupQueue(q, queueSize, q);
                }
                driver.enableMsix();
                driver.driverOk();
                needsSetup = false;
            }
            int queue = random.nextInt(queues);
            int usedBefore = driver.usedIdx(queue);
            int kind = random.nextInt(10);
            if (kind < 5) {
                mutatedRequest(queue, random);
            } else if (kind < 8) {
                randomTable(queue, random);
            } else if (kind == 8) {
                memory.setU16(AVAIL + queue * QUEUE_STRIDE + 2, random.nextInt(0x10000));
            } else {
                randomBarWrite(random);
            }
            long before = THREADS.getCurrentThreadAllocatedBytes();
            long start = System.nanoTime();
            driver.kick(queue);
            slowest = Math.max(slowest, System.nanoTime() - start);
            long delta = THREADS.getCurrentThreadAllocatedBytes() - before;
            if (round >= rounds / 10) {
                allocated += delta;
            }
            int status = driver.status();
            if ((status & VirtioFeatures.STATUS_DEVICE_NEEDS_RESET) != 0) {
                resets++;
                needsSetup = true;
            } else if ((status & VirtioFeatures.STATUS_DRIVER_OK) == 0) {
                needsSetup = true;  // a random BAR write reset or reconfigured the device
            } else {
                int done = (driver.usedIdx(queue) - usedBefore) & 0xFFFF;
                for (int i = 0; i < done; i++) {
                    assertThat(driver.usedId(queue, usedBefore + i)).isLessThan(queueSize);
                    assertThat(driver.usedLength(queue, usedBefore + i)).isBetween(0L, (long) memory.size());
                }
                completed += done;
                if (random.nextInt(50) == 0) {
                    needsSetup = true;  // start over now and then, so the avail index is not always small
                }
            }
        }
        return new Outcome(completed, resets, allocated, slowest);
    }

    private long table(int queue) {
        return DESC + queue * QUEUE_STRIDE;
    }

    /** A well-formed request, perhaps through an indirect table, then one random field changed (or none). */
    private void mutatedRequest(int queue, SplittableRandom random) {
        int head = random.nextInt(queueSize - 3);
        boolean indirect = random.nextInt(4) == 0;
        long table = indirect ? INDIRECT : table(queue);
        int first = indirect ? 0 : head;
        int count = requests.write(driver, queue, table, first, random);
        if (indirect) {
            driver.descriptor(table(queue), head, INDIRECT, 16L * count, INDIRECT_FLAG, 0);
        }
        long at = table + 16L * (first + random.nextInt(count));
        switch (random.nextInt(9)) {
            case 0 -> memory.setU64(at, random.nextLong());
            case 1 -> memory.setU32(at + 8, random.nextInt());
            case 2 -> memory.setU16(at + 12, random.nextInt(8));
            case 3 -> memory.setU16(at + 14, random.nextInt(64));
            case 4 -> memory.setU64(DATA + 8L * random.nextInt(8), random.nextLong());
            case 5 -> memory.setU32(DATA + 4L * random.nextInt(16), random.nextInt(16));
            default -> {
                // unchanged
            }
        }
        driver.publish(queue, head);
    }

    /** A descriptor table of random entries around the data area, and a random head. */
    private void randomTable(int queue, SplittableRandom random) {
        for (int i = 0; i < queueSize; i++) {
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
            driver.descriptor(table(queue), i, address, length, flags, random.nextInt(queueSize + 2));
        }
        for (int i = 0; i < 4; i++) {
            driver.descriptor(INDIRECT, i, DATA + random.nextInt(4096), random.nextInt(1024),
                    random.nextInt(8), random.nextInt(5));
        }
        driver.publish(queue, random.nextInt(queueSize));
    }

    /** A write of random size and value at a random place of the BAR (common, device, MSI-X, anywhere). */
    private void randomBarWrite(SplittableRandom random) {
        int[] sizes = {1, 2, 4, 8};
        long offset = switch (random.nextInt(4)) {
            case 0 -> random.nextInt(VirtioPciFunction.COMMON_LENGTH + 8);
            case 1 -> VirtioPciFunction.DEVICE_OFFSET + random.nextInt(driver.function.device().configSize() + 8);
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
