package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import dev.hako.vmm.sched.CpuEntitlement;
import dev.hako.vmm.sched.CpuScheduler;
import dev.hako.vmm.sched.Partition;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One boot of Debian's cloud kernel on the soft CPU in a scheduled partition: idle at the shell it costs the host
 * under 0.01 core; throttled to 0.30 core under a busy loop, it sees the time it was denied as steal time (the
 * KVM steal-time MSR the soft CPU offers) in /proc/stat's eighth cpu field, as {@code top} shows it in {@code st}.
 */
class StealTimeIT {
    private static final String INIT = """
            #!/bin/busybox sh
            export PATH=/sbin:/usr/sbin:/bin:/usr/bin
            mount -t proc proc /proc
            echo HAKO-IDLE
            sleep 6
            set -- $(head -n 1 /proc/stat); before=$9
            sh -c 'while :; do :; done' & busy=$!
            sleep 4
            kill $busy
            set -- $(head -n 1 /proc/stat); after=$9
            echo "HAKO-STEAL $before $after"
            poweroff -f
            """;
    private static final Pattern STEAL = Pattern.compile("HAKO-STEAL (\\d+) (\\d+)");
    /** /proc/stat counts in USER_HZ ticks. */
    private static final long TICK_NANOS = 10_000_000;

    @TempDir
    Path work;

    @Test
    void aThrottledLinuxGuestSeesStealTimeAndAnIdleOneCostsNothing() throws Exception {
        DebianPackages packages = DebianPackages.inDefaultCache();
        Path initrd = work.resolve("initrd.cpio");
        Files.write(initrd, DefaultGuest.initramfs(packages.busybox(), INIT));
        RecordingConsole console = new RecordingConsole();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        try (CpuScheduler scheduler = new CpuScheduler(1)) {
            Partition p = scheduler.admit("linux", 1, CpuEntitlement.ofCores(1.00, true, 128));
            MachineConfig config = new MachineConfig(packages.debianKernel(), initrd,
                    "console=ttyS0 rdinit=/init panic=-1", 256L << 20, 1, "soft").withPartition(p);
            try (Machine m = Machine.create(config, console, new PrintStream(log, true))) {
                CompletableFuture<Integer> status = CompletableFuture.supplyAsync(() -> {
                    try {
                        return m.run(5, TimeUnit.MINUTES);
                    } catch (InterruptedException e) {
                        return -2;
                    }
                });
                assertThat(console.await("HAKO-IDLE", 0, Duration.ofMinutes(4)))
                        .as("the guest's shell; console:%n%s", console.tail(40)).isNotNegative();
                Thread.sleep(500);
                long cpu = p.cpuNanos(), start = System.nanoTime();
                Thread.sleep(3000);
                double idleCores = (p.cpuNanos() - cpu) / (double) (System.nanoTime() - start);
                p.change(CpuEntitlement.ofCores(0.30, true, 128));
                long hostSteal = p.stealNanos();

                assertThat(status.get(2, TimeUnit.MINUTES)).as("exit; hako said %s", log).isZero();
                String out = console.output().replace("\r", "");
                Matcher steal = STEAL.matcher(out);
                assertThat(steal.find()).as("steal line; console:%n%s", console.tail(40)).isTrue();
                long guestTicks = Long.parseLong(steal.group(2)) - Long.parseLong(steal.group(1));
                long hostTicks = (p.stealNanos() - hostSteal) / TICK_NANOS;
                System.out.printf("idle Linux: %.5f cores; steal at 0.30: guest %d ticks, host %d ticks%n",
                        idleCores, guestTicks, hostTicks);

                assertThat(idleCores).as("cores used by the guest idle at its shell").isLessThan(0.01);
                assertThat(out).contains("Hypervisor detected: KVM").doesNotContain("unchecked MSR access");
                // 4 s busy at 0.30: about 2.8 s denied.
                assertThat(guestTicks).as("guest steal ticks (host says %d)", hostTicks).isGreaterThan(150);
                assertThat(guestTicks).isLessThanOrEqualTo(hostTicks + 20);
            }
        }
    }
}
