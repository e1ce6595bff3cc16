package dev.hako.soft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.accel.IoHandler;
import dev.hako.core.accel.LocalInterrupts;
import dev.hako.core.memory.GuestMemory;
import dev.hako.core.time.NanoTimeClock;
import dev.hako.core.x86.X86CpuState;
import dev.hako.testkit.TinyGuest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The guest profiler names where a spinning guest spins, and nothing while it is halted. */
class GuestProfilerTest {
    private static final long PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000, GDT = 0x4000, CODE = 0x10000;

    @Test
    void samplesTheLoopTheGuestSpinsIn(@TempDir Path dir) throws Exception {
        TinyGuest guest = TinyGuest.withRam(4 << 20);
        guest.identityMapFirst2MiB(PML4, PDPT, PD);
        guest.descriptor(GDT, 0x08, TinyGuest.CODE64);
        guest.descriptor(GDT, 0x10, TinyGuest.DATA);
        guest.code(CODE, "90 90 EBFC"); // nop; nop; jmp back to the first nop
        SoftVirtualCpu vcpu = (SoftVirtualCpu) new SoftAccelerator()
                .createVm(new GuestMemory(guest.ram()), new NanoTimeClock())
                .createVcpu(0, IoHandler.NONE, LocalInterrupts.NONE);
        X86CpuState s = TinyGuest.longMode(PML4, GDT, 23, 0, 0, 0x08, 0x10);
        s.rip = CODE;
        vcpu.load(s);
        Path output = dir.resolve("profile");
        GuestProfiler profiler = new GuestProfiler(output, List.of(vcpu));
        Thread runner = Thread.ofPlatform().start(vcpu::run);
        Thread.sleep(300);
        vcpu.kick();
        runner.join(5000);
        profiler.close();

        List<String> lines = Files.readAllLines(output);
        assertThat(lines).isNotEmpty();
        String[] top = lines.get(0).split(" ");
        assertThat(Long.parseLong(top[1], 16)).isBetween(CODE, CODE + 3);
        assertThat(lines.stream().mapToLong(l -> Long.parseLong(l.split(" ")[0])).sum())
                .as("about one sample a millisecond").isGreaterThan(50);
    }
}
