package dev.hako.vmm.machine;

import static dev.hako.vmm.machine.TinyPvhKernel.BASE;
import static dev.hako.vmm.machine.TinyPvhKernel.GDT;
import static dev.hako.vmm.machine.TinyPvhKernel.PML4;
import static dev.hako.vmm.machine.TinyPvhKernel.le32;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guests that go wrong end the VM with a non-zero status and a register dump, and the JVM carries on: a
 * triple fault (an exception with no usable IDT, in long and in 32-bit mode), code hako cannot run
 * (instructions fetched from a device's MMIO page), and a vCPU that spins with interrupts off (the watchdog);
 * while guests that idle or keep busy with interrupts on or with devices are left alone by the watchdog.
 * The "kernels" are tiny PVH ELF files built here; they start in 32-bit mode with interrupts off.
 */
class GuestFailureIT {
    @TempDir
    Path work;

    private Path pvhKernel(String code) throws Exception {
        return TinyPvhKernel.write(work, code);
    }

    private record Outcome(int status, String log) {}

    private Outcome run(Path kernel) throws Exception {
        return run(kernel, MachineConfig.DEFAULT_WATCHDOG, Duration.ofMinutes(1));
    }

    private Outcome run(Path kernel, Duration watchdog, Duration timeLimit) throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        MachineConfig config = new MachineConfig(kernel, null, "", 64L << 20, 1, "soft", watchdog);
        try (Machine m = Machine.create(config, new RecordingConsole(), new PrintStream(log, true))) {
            return new Outcome(m.run(timeLimit.toNanos(), TimeUnit.NANOSECONDS), log.toString());
        }
    }

    private static final Duration WATCHDOG = Duration.ofMillis(300), LONG_ENOUGH = Duration.ofSeconds(2);

    @Test
    void tripleFaultEndsTheVmWithARegisterDump() throws Exception {
        long long64 = BASE + 0x40;
        String enterLongMode = "0F20E0 0D20000000 0F22E0"      // cr4 |= PAE
                + "B8" + le32(PML4) + "0F22D8"                   // cr3 = PML4
                + "B9800000C0 0F32 0D00010000 0F30"              // EFER |= LME
                + "0F20C0 0D00000080 0F22C0"                     // cr0 |= PG
                + "0F0115" + le32(GDT + 0x20)                    // lgdt [gdtptr]
                + "EA" + le32(long64) + "0800";                 // ljmp 0x08:long64
        String padded = enterLongMode + "90".repeat(0x40 - enterLongMode.length() / 2);
        // lidt [idtptr] (limit 0); ud2: #UD, then #GP for every gate, then #DF, then shutdown.
        Outcome o = run(pvhKernel(padded + "0F011C25" + le32(GDT + 0x30) + "0F0B"));
        assertThat(o.status()).as(o.log()).isEqualTo(Machine.EXIT_TRIPLE_FAULT);
        assertThat(o.log()).contains("triple fault", "RIP=", "CR0=", "EFER=", "Code:", ": ud2");
    }

    @Test
    void exceptionWithNoIdtIn32BitModeTripleFaults() throws Exception {
        Outcome o = run(pvhKernel("0F0B")); // ud2 in the 32-bit PVH entry state, whose IDT limit is 0
        assertThat(o.status()).as(o.log()).isEqualTo(Machine.EXIT_TRIPLE_FAULT);
        assertThat(o.log()).contains("triple fault", "RIP=", ": ud2");
    }

    @Test
    void executingFromMmioIsAnEmulationFailureNotACrash() throws Exception {
        Outcome o = run(pvhKernel("B80000C0FE FFE0")); // mov eax,0xFEC00000 (the IOAPIC); jmp eax
        assertThat(o.status()).as(o.log()).isEqualTo(Machine.EXIT_FAILURE);
        assertThat(o.log()).contains("emulation failure", "instruction fetch from MMIO", "RIP=");
    }

    @Test
    void spinWithInterruptsOffEndsTheVmThroughTheWatchdog() throws Exception {
        long start = System.nanoTime();
        Outcome o = run(pvhKernel("F390 EBFC"), WATCHDOG, Duration.ofMinutes(1)); // 1: pause; jmp 1b
        assertThat(o.status()).as(o.log()).isEqualTo(Machine.EXIT_WATCHDOG);
        assertThat(o.log()).contains("vCPU 0: watchdog: no progress for", "interrupts off", "RIP=", "CR0=", "Code:");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
    }

    @Test
    void watchdogLeavesAnIdleGuestAlone() throws Exception {
        Outcome o = run(pvhKernel("F4 EBFD"), WATCHDOG, LONG_ENOUGH); // 1: hlt; jmp 1b (never woken: IF is 0)
        assertThat(o.status()).as(o.log()).isEqualTo(-1);
        assertThat(o.log()).contains("time limit reached").doesNotContain("watchdog");
    }

    @Test
    void watchdogLeavesAGuestPollingADeviceAlone() throws Exception {
        Outcome o = run(pvhKernel("E480 EBFC"), WATCHDOG, LONG_ENOUGH); // 1: in al, 0x80; jmp 1b
        assertThat(o.status()).as(o.log()).isEqualTo(-1);
        assertThat(o.log()).doesNotContain("watchdog");
    }

    @Test
    void watchdogLeavesASpinWithInterruptsOnAlone() throws Exception {
        Outcome o = run(pvhKernel("FB EBFE"), WATCHDOG, LONG_ENOUGH); // sti; jmp $
        assertThat(o.status()).as(o.log()).isEqualTo(-1);
        assertThat(o.log()).doesNotContain("watchdog");
    }

    @Test
    void aWatchdogOfZeroIsOff() throws Exception {
        Outcome o = run(pvhKernel("EBFE"), Duration.ZERO, LONG_ENOUGH); // jmp $
        assertThat(o.status()).as(o.log()).isEqualTo(-1);
    }
}
