package dev.hako.devices.virtio.rng;

import static dev.hako.devices.virtio.VirtioTestDriver.DATA;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.memory.GuestMemory;
import dev.hako.core.time.TimerQueue;
import dev.hako.devices.virtio.VirtioFeatures;
import dev.hako.devices.virtio.VirtioFuzzer;
import dev.hako.devices.virtio.PseudoEntropy;
import dev.hako.devices.virtio.VirtioPciFunction;
import dev.hako.devices.virtio.VirtioTestDriver;
import dev.hako.devices.virtio.Virtqueue;
import dev.hako.testkit.ManualClock;
import java.lang.foreign.Arena;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** virtio-rng from a miniature driver: random bytes in writable buffers, the token bucket, a hostile driver. */
class VirtioRngTest {
    private static final int WRITE = Virtqueue.DESC_F_WRITE, NEXT = Virtqueue.DESC_F_NEXT;
    private final Arena arena = Arena.ofShared();
    private final GuestMemory memory = new GuestMemory(arena.allocate(4 << 20, 4096));
    private final ManualClock clock = new ManualClock();
    private final TimerQueue timers = new TimerQueue(clock);
    private VirtioTestDriver driver;

    @AfterEach
    void close() {
        arena.close();
    }

    private void start(long bytesPerSecond) {
        VirtioRng rng = new VirtioRng(new PseudoEntropy(7), timers, bytesPerSecond);
        driver = new VirtioTestDriver(memory, new VirtioPciFunction("virtio-rng", memory, rng, m -> { }));
        assertThat(driver.negotiate(driver.deviceFeatures())).isTrue();
        driver.setupQueue(0, 16, 0);
        driver.driverOk();
    }

    private int nonZero(long address, int length) {
        int n = 0;
        for (int i = 0; i < length; i++) {
            n += memory.getU8(address + i) != 0 ? 1 : 0;
        }
        return n;
    }

    @Test
    void fillsEveryWritableSegmentAndSkipsReadableOnes() {
        start(VirtioRng.DEFAULT_BYTES_PER_SECOND);
        assertThat(driver.deviceFeatures() & ~VirtioFeatures.TRANSPORT).isZero();
        driver.descriptor(0, DATA, 64, NEXT, 1);
        driver.descriptor(1, DATA + 0x1000, 100, NEXT | WRITE, 2);
        driver.descriptor(2, DATA + 0x2000, 3000, WRITE, 0);
        driver.publish(0);
        driver.kick(0);
        assertThat(driver.usedIdx()).isEqualTo(1);
        assertThat(driver.usedLength(0)).isEqualTo(3100);
        assertThat(nonZero(DATA, 64)).as("the readable segment is left alone").isZero();
        assertThat(nonZero(DATA + 0x1000, 100)).isGreaterThan(90);
        assertThat(nonZero(DATA + 0x2000, 3000)).isGreaterThan(2900);
        assertThat(memory.getU64(DATA + 0x1000)).isNotEqualTo(memory.getU64(DATA + 0x2000));
    }

    @Test
    void anEmptyBucketHoldsRequestsUntilTheTimerRefillsIt() {
        start(64 * 1024);  // the smallest burst: 64 KiB, refilled at 64 KiB/s
        driver.descriptor(0, DATA, 48 * 1024, WRITE, 0);
        driver.publish(0);
        driver.descriptor(1, DATA + 0x10000, 48 * 1024, WRITE, 0);
        driver.publish(1);
        driver.descriptor(2, DATA + 0x20000, 1024, WRITE, 0);
        driver.publish(2);
        driver.kick(0);
        assertThat(driver.usedIdx()).as("the bucket's 64 KiB span two requests").isEqualTo(2);
        assertThat(driver.usedLength(0)).isEqualTo(48 * 1024);
        assertThat(driver.usedLength(1)).as("the rest of the burst").isEqualTo(16 * 1024);
        assertThat(timers.nextDeadline()).isNotEqualTo(Long.MAX_VALUE);
        driver.kick(0);
        assertThat(driver.usedIdx()).as("no time passed, nothing more").isEqualTo(2);
        clock.advanceMillis(1000);
        timers.runDue();
        assertThat(driver.usedIdx()).as("the timer served the waiting request").isEqualTo(3);
        assertThat(driver.usedLength(2)).isEqualTo(1024);
    }

    @Test
    void aChainWithoutWritableBytesCompletesEmpty() {
        start(VirtioRng.DEFAULT_BYTES_PER_SECOND);
        driver.descriptor(0, DATA, 64, 0, 0);
        driver.publish(0);
        driver.kick(0);
        assertThat(driver.usedIdx()).isEqualTo(1);
        assertThat(driver.usedLength(0)).isZero();
        assertThat(driver.status() & VirtioFeatures.STATUS_DEVICE_NEEDS_RESET).isZero();
    }

    @Test
    void survivesAHostileDriver() {
        VirtioRng rng = new VirtioRng(new PseudoEntropy(7), timers, VirtioRng.MAX_BYTES_PER_SECOND);
        driver = new VirtioTestDriver(memory, new VirtioPciFunction("fuzz", memory, rng, m -> { }));
        VirtioFuzzer.Outcome o = new VirtioFuzzer(driver, 16, (d, queue, table, first, random) -> {
            int n = 1 + random.nextInt(3);
            for (int i = 0; i < n; i++) {
                d.descriptor(table, first + i, DATA + 0x1000L * i, 1 + random.nextInt(2048), WRITE
                        | (i + 1 < n ? NEXT : 0), first + i + 1);
            }
            return n;
        }).run(0x5EED_0004L, 100_000);
        assertThat(o.completed()).isGreaterThan(5_000);
        assertThat(o.resets()).isGreaterThan(5_000);
        assertThat(o.allocatedAfterWarmup()).as("bytes allocated by kicks after warm-up").isLessThan(64 * 1024);
        assertThat(o.slowestKickNanos()).isLessThan(2_000_000_000L);
    }
}
