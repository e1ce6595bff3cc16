package dev.hako.soft;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code HAKO_PROFILE=FILE}: where the guest spends its time, for finding what to make faster. A thread samples
 * every vCPU's instruction pointer each millisecond (a racy read: translated code updates it at trace exits, so a
 * sample names the trace being run) and, when the VM closes, writes "samples address" lines, most first, into
 * FILE. Boot the guest with {@code nokaslr} and the addresses match the kernel's System.map.
 */
final class GuestProfiler {
    private static final long PERIOD_NANOS = 1_000_000;

    private final Path output;
    private final List<SoftVirtualCpu> vcpus;
    private final Map<Long, int[]> samples = new HashMap<>();
    private final Thread thread;
    private volatile boolean running = true;

    GuestProfiler(Path output, List<SoftVirtualCpu> vcpus) {
        this.output = output;
        this.vcpus = vcpus;
        this.thread = Thread.ofPlatform().daemon().name("guest profiler").start(this::sample);
    }

    private void sample() {
        while (running) {
            for (SoftVirtualCpu v : vcpus) {
                if (!v.cpu().sys.halted) {
                    samples.computeIfAbsent(v.cpu().rip, k -> new int[1])[0]++;
                }
            }
            LockSupport.parkNanos(PERIOD_NANOS);
        }
    }

    void close() {
        running = false;
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (PrintStream out = new PrintStream(Files.newOutputStream(output))) {
            samples.entrySet().stream()
                    .sorted((a, b) -> Integer.compare(b.getValue()[0], a.getValue()[0]))
                    .forEach(e -> out.printf("%d %016x%n", e.getValue()[0], e.getKey()));
        } catch (IOException e) {
            System.err.println("hako: writing the guest profile failed: " + e.getMessage());
        }
    }
}
