package dev.hako.soft;

import dev.hako.core.accel.Accelerator;
import dev.hako.core.accel.IoHandler;
import dev.hako.core.accel.LocalInterrupts;
import dev.hako.core.accel.VirtualCpu;
import dev.hako.core.accel.VirtualMachine;
import dev.hako.core.memory.GuestMemory;
import dev.hako.core.time.VirtualClock;
import dev.hako.soft.mmu.CodePages;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** hako's own x86-64 CPU as an accelerator: runs anywhere a JVM runs. */
public final class SoftAccelerator implements Accelerator {
    /** {@code HAKO_STATS=1}: say at the end how much guest code ran and how much was translated (for bench/). */
    private static final boolean STATS = "1".equals(System.getenv("HAKO_STATS"));
    /** {@code HAKO_PROFILE=FILE}: sample where the guest runs ({@link GuestProfiler}). */
    private static final String PROFILE = System.getenv("HAKO_PROFILE");

    @Override
    public String name() {
        return "soft";
    }

    @Override
    public VirtualMachine createVm(GuestMemory memory, VirtualClock clock) {
        CodePages codePages = new CodePages(memory.size());
        List<SoftVirtualCpu> vcpus = new CopyOnWriteArrayList<>();
        long created = System.nanoTime();
        GuestProfiler profiler = PROFILE == null || PROFILE.isEmpty() ? null
                : new GuestProfiler(Path.of(PROFILE), vcpus);
        return new VirtualMachine() {
            @Override
            public VirtualCpu createVcpu(int index, IoHandler io, LocalInterrupts interrupts) {
                SoftVirtualCpu vcpu = new SoftVirtualCpu(memory, clock, codePages, index, io, interrupts);
                vcpus.add(vcpu);
                return vcpu;
            }

            @Override
            public void close() {
                if (profiler != null) {
                    profiler.close();
                }
                if (STATS) {
                    printStats(vcpus, (System.nanoTime() - created) / 1e9);
                }
            }
        };
    }

    private static void printStats(List<SoftVirtualCpu> vcpus, double seconds) {
        long instructions = 0;
        long translated = 0;
        long reused = 0;
        for (SoftVirtualCpu v : vcpus) {
            instructions += v.cpu().instructions;
            translated += v.translated();
            reused += v.reusedTranslations();
        }
        System.err.printf("hako: %d guest instructions in %.3f s (%.1f M instructions/s), %d traces translated"
                + " (%d of them shared, made by another vCPU)%n", instructions, seconds, instructions / seconds / 1e6,
                translated, reused);
    }
}
