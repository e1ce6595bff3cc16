package dev.hako.devices.virtio.balloon;

import static dev.hako.devices.virtio.VirtioTestDriver.DATA;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.irq.MsiMessage;
import dev.hako.core.memory.GuestMemory;
import dev.hako.devices.backend.PageReclaimer;
import dev.hako.devices.virtio.VirtioFuzzer;
import dev.hako.devices.virtio.VirtioPciFunction;
import dev.hako.devices.virtio.VirtioTestDriver;
import dev.hako.devices.virtio.Virtqueue;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** virtio-balloon: inflation reclaims runs of frames, the target and its interrupt, statistics, a hostile driver. */
class VirtioBalloonTest {
    private static final int RAM = 4 << 20;
    private final Arena arena = Arena.ofShared();
    private final GuestMemory memory = new GuestMemory(arena.allocate(RAM, 4096));
    private final List<long[]> reclaimed = new ArrayList<>();
    private final List<MsiMessage> interrupts = new ArrayList<>();
    private VirtioBalloon balloon;
    private VirtioTestDriver driver;

    @AfterEach
    void close() {
        arena.close();
    }

    private void start() {
        start((gpa, length) -> reclaimed.add(new long[] {gpa, length}), interrupts::add);
    }

    private void start(PageReclaimer reclaimer, Consumer<MsiMessage> msi) {
        balloon = new VirtioBalloon(reclaimer, RAM, 1 << 20);
        driver = new VirtioTestDriver(memory, new VirtioPciFunction("virtio-balloon", memory, balloon, msi));
        assertThat(driver.negotiate(driver.deviceFeatures())).isTrue();
        for (int q = 0; q < 3; q++) {
            driver.setupQueue(q, 16, q);
        }
        driver.common(VirtioPciFunction.CONFIG_MSIX_VECTOR, 2, 3);
        driver.enableMsix();
        driver.driverOk();
    }

    private long config(int offset) {
        return driver.bar().read(0, VirtioPciFunction.DEVICE_OFFSET + offset, 4);
    }

    @Test
    void inflationReclaimsRunsOfFramesInsideRam() {
        start();
        assertThat(config(VirtioBalloon.CFG_NUM_PAGES)).as("the initial target, 1 MiB").isEqualTo(256);
        long[] pfns = {0x300, 0x301, 0x302, 0x280, 0xFFFF_FFFFL, 0x281};
        for (int i = 0; i < pfns.length; i++) {
            memory.setU32(DATA + 4L * i, pfns[i]);
        }
        driver.queueDescriptor(VirtioBalloon.INFLATE_QUEUE, 0, DATA, 4L * pfns.length, 0, 0);
        driver.publish(VirtioBalloon.INFLATE_QUEUE, 0);
        driver.kick(VirtioBalloon.INFLATE_QUEUE);
        assertThat(driver.usedIdx(VirtioBalloon.INFLATE_QUEUE)).isEqualTo(1);
        assertThat(reclaimed).containsExactly(new long[] {0x300_000, 0x3000}, new long[] {0x280_000, 0x2000});
        assertThat(balloon.reclaimedPages()).isEqualTo(5);
        driver.bar().write(0, VirtioPciFunction.DEVICE_OFFSET + VirtioBalloon.CFG_ACTUAL, 4, 5);
        assertThat(balloon.actualPages()).isEqualTo(5);

        driver.queueDescriptor(VirtioBalloon.DEFLATE_QUEUE, 0, DATA, 8, 0, 0);
        driver.publish(VirtioBalloon.DEFLATE_QUEUE, 0);
        driver.kick(VirtioBalloon.DEFLATE_QUEUE);
        assertThat(driver.usedIdx(VirtioBalloon.DEFLATE_QUEUE)).isEqualTo(1);
        assertThat(reclaimed).as("deflating reclaims nothing").hasSize(2);
    }

    @Test
    void aNewTargetRaisesTheConfigurationInterrupt() {
        start();
        int before = interrupts.size();
        balloon.setTargetPages(512);
        assertThat(config(VirtioBalloon.CFG_NUM_PAGES)).isEqualTo(512);
        assertThat(interrupts).hasSize(before + 1);
        assertThat(interrupts.getLast().data()).as("the configuration vector").isEqualTo(0x33);
        balloon.setTargetPages(1L << 40);
        assertThat(config(VirtioBalloon.CFG_NUM_PAGES)).as("clamped to RAM").isEqualTo(RAM / 4096);
    }

    @Test
    void statisticsBufferIsHeldAndReturnedWhenTheHostAsks() {
        start();
        int q = VirtioBalloon.STATS_QUEUE;
        memory.setU16(DATA, VirtioBalloon.S_MEMFREE);
        memory.setU64(DATA + 2, 123_456_789L);
        memory.setU16(DATA + 10, VirtioBalloon.S_MEMTOT);
        memory.setU64(DATA + 12, 4L << 20);
        driver.queueDescriptor(q, 0, DATA, 20, 0, 0);
        driver.publish(q, 0);
        driver.kick(q);
        assertThat(driver.usedIdx(q)).as("held by the device").isZero();
        assertThat(balloon.statistic(VirtioBalloon.S_MEMFREE)).isEqualTo(123_456_789L);
        assertThat(balloon.statistic(VirtioBalloon.S_MEMTOT)).isEqualTo(4L << 20);
        assertThat(balloon.statistic(VirtioBalloon.S_SWAP_IN)).isEqualTo(-1);
        balloon.requestStatistics();
        assertThat(driver.usedIdx(q)).isEqualTo(1);
        assertThat(driver.usedId(q, 0)).isZero();
        memory.setU64(DATA + 2, 42);
        driver.publish(q, 0);
        driver.kick(q);
        assertThat(balloon.statistic(VirtioBalloon.S_MEMFREE)).isEqualTo(42);
        assertThat(balloon.statsUpdates()).isEqualTo(2);
        VirtioBalloonState state = balloon.save();
        start();
        balloon.restore(state);
        assertThat(balloon.statistic(VirtioBalloon.S_MEMFREE)).isEqualTo(42);
        assertThat(balloon.save().statsHead()).isZero();
    }

    @Test
    void survivesAHostileDriver() {
        long[] bytes = new long[2];
        start((gpa, length) -> {
            if (gpa % 4096 != 0 || length <= 0 || !memory.contains(gpa, length)) {
                bytes[1]++;
            }
            bytes[0] += length;  // counted, not kept: a growing list would allocate
        }, message -> { });
        VirtioFuzzer.Outcome o = new VirtioFuzzer(driver, 16, (d, queue, table, first, random) -> {
            int n = 1 + random.nextInt(3);
            for (int i = 0; i < n; i++) {
                long at = DATA + 0x1000L * i;
                for (int k = 0; k < 8; k++) {
                    memory.setU32(at + 4L * k, random.nextInt(RAM / 4096 + 16));
                }
                d.descriptor(table, first + i, at, 4 + 4 * random.nextInt(8),
                        i + 1 < n ? Virtqueue.DESC_F_NEXT : 0, first + i + 1);
            }
            if (random.nextInt(8) == 0) {
                balloon.requestStatistics();
            }
            return n;
        }).run(0x5EED_0006L, 100_000);
        assertThat(o.completed()).isGreaterThan(5_000);
        assertThat(o.resets()).isGreaterThan(5_000);
        assertThat(o.allocatedAfterWarmup()).as("bytes allocated by kicks after warm-up").isLessThan(64 * 1024);
        assertThat(o.slowestKickNanos()).isLessThan(2_000_000_000L);
        assertThat(balloon.reclaimedPages()).isPositive().isEqualTo(bytes[0] / 4096);
        assertThat(bytes[1]).as("reclaims outside RAM or unaligned").isZero();
    }
}
