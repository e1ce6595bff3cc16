package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.hako.vmm.sched.CpuEntitlement;
import dev.hako.vmm.sched.CpuScheduler;
import dev.hako.vmm.sched.Partition;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CPU scheduler enforcing entitlements on real machines (the soft CPU running tiny PVH guests: a busy loop,
 * or HLT with interrupts off), measured on the CPU clocks of the vCPU threads. Each measurement runs alone, as the
 * host has two cores.
 */
class SchedulerIT {
    private static final String BUSY_LOOP = "EBFE", HALT_FOREVER = "F4 EBFD";

    @TempDir
    Path work;
    private final ByteArrayOutputStream log = new ByteArrayOutputStream();
    private final List<Machine> machines = new ArrayList<>();
    private final List<Thread> runners = new ArrayList<>();

    @AfterEach
    void stopMachines() throws InterruptedException {
        for (Machine m : machines) {
            m.stop("test over");
        }
        for (Thread t : runners) {
            t.join(5000);
        }
        for (Machine m : machines) {
            m.close();
        }
    }

    private void start(Partition partition, String code) throws Exception {
        Path dir = work.resolve(partition.name());
        java.nio.file.Files.createDirectories(dir);
        MachineConfig config = new MachineConfig(TinyPvhKernel.write(dir, code), null, "", MachineConfig.MIN_MEMORY,
                1, "soft", Duration.ZERO).withPartition(partition);
        Machine m = Machine.create(config, new RecordingConsole(), new PrintStream(log, true));
        machines.add(m);
        Thread t = Thread.ofPlatform().name("run-" + partition.name()).start(() -> {
            try {
                m.run();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        runners.add(t);
    }

    /** Cores used by each partition over {@code millis} of wall time. */
    private static double[] coresOver(long millis, Partition... partitions) throws InterruptedException {
        long[] before = new long[partitions.length];
        for (int i = 0; i < partitions.length; i++) {
            before[i] = partitions[i].cpuNanos();
        }
        long start = System.nanoTime();
        Thread.sleep(millis);
        long elapsed = System.nanoTime() - start;
        double[] cores = new double[partitions.length];
        for (int i = 0; i < partitions.length; i++) {
            cores[i] = (partitions[i].cpuNanos() - before[i]) / (double) elapsed;
        }
        return cores;
    }

    @Test
    void aCappedBusyMachineUsesItsEntitlementAndAChangeShowsWithin100Ms() throws Exception {
        try (CpuScheduler scheduler = new CpuScheduler(1)) {
            Partition p = scheduler.admit("capped", 1, CpuEntitlement.ofCores(0.30, true, 128));
            start(p, BUSY_LOOP);
            Thread.sleep(1000);
            double used = coresOver(10_000, p)[0];
            System.out.printf("capped at 0.30: %.4f cores, %d throttles, %.2f s steal%n", used, p.throttledCount(),
                    p.stealNanos() / 1e9);
            assertThat(used).as("cores used at 0.30 capped").isCloseTo(0.30, within(0.03));
            assertThat(p.throttledCount()).isGreaterThan(900);
            assertThat(p.stealNanos()).isGreaterThan(TimeUnit.SECONDS.toNanos(6));

            long changed = System.nanoTime();
            p.change(CpuEntitlement.ofCores(0.80, true, 128));
            Thread.sleep(30);
            double after = coresOver(70, p)[0];
            long sinceChange = System.nanoTime() - changed;
            System.out.printf("changed to 0.80: %.4f cores from 30 to %d ms after%n", after, sinceChange / 1_000_000);
            assertThat(after).as("cores used in the 100 ms after a change to 0.80").isGreaterThan(0.65);
            assertThat(sinceChange).isLessThan(TimeUnit.MILLISECONDS.toNanos(150));
        }
    }

    @Test
    void twoUncappedMachinesShareOneCoreByTheirWeights() throws Exception {
        try (CpuScheduler scheduler = new CpuScheduler(1)) {
            // The spare 0.85 splits 2:1, so with entitlements 2:1 as well the whole core splits 2:1
            // (equal weights would give 0.525 : 0.475).
            Partition heavy = scheduler.admit("heavy", 1, CpuEntitlement.ofCores(0.10, false, 128));
            Partition light = scheduler.admit("light", 1, CpuEntitlement.ofCores(0.05, false, 64));
            start(heavy, BUSY_LOOP);
            start(light, BUSY_LOOP);
            Thread.sleep(1000);
            double[] used = coresOver(10_000, heavy, light);
            System.out.printf("weights 128:64: %.4f and %.4f cores%n", used[0], used[1]);
            assertThat(used[0] / used[1]).as("heavy %.3f : light %.3f", used[0], used[1]).isCloseTo(2.0, within(0.2));
            assertThat(used[0] + used[1]).isCloseTo(1.0, within(0.1));
        }
    }

    @Test
    void aHaltedMachineCostsTheHostNothing() throws Exception {
        try (CpuScheduler scheduler = new CpuScheduler(1)) {
            Partition idle = scheduler.admit("idle", 1, CpuEntitlement.ofCores(0.50, false, 128));
            start(idle, HALT_FOREVER);
            Thread.sleep(500);
            double used = coresOver(3000, idle)[0];
            System.out.printf("halted: %.5f cores%n", used);
            assertThat(used).as("cores used by a halted vCPU").isLessThan(0.01);
            assertThat(idle.throttledCount()).isZero();
        }
    }
}
