package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
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
    private static final long BASE = 0x200000, PML4 = BASE + 0x1000, GDT = BASE + 0x4000;

    @TempDir
    Path work;

    private static String le32(long v) {
        return String.format("%02x%02x%02x%02x", v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, (v >> 24) & 0xFF);
    }

    /** A PVH ELF whose one segment (at 2 MiB) holds {@code code} at its start and the tables after it. */
    private Path pvhKernel(String code) throws Exception {
        byte[] image = new byte[0x1000 + 0x5000];
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, new byte[] {0x7F, 'E', 'L', 'F', 2, 1, 1});
        b.putShort(16, (short) 2).putShort(18, (short) 62).putInt(20, 1).putLong(24, BASE).putLong(32, 64);
        b.putShort(52, (short) 64).putShort(54, (short) 56).putShort(56, (short) 2).putShort(58, (short) 64);
        // PT_LOAD of the segment, PT_NOTE of the Xen PVH entry note.
        b.putInt(64, 1).putInt(68, 7).putLong(72, 0x1000).putLong(80, BASE).putLong(88, BASE)
                .putLong(96, 0x5000).putLong(104, 0x5000).putLong(112, 0x1000);
        b.putInt(120, 4).putInt(124, 4).putLong(128, 0x200).putLong(152, 20).putLong(160, 20).putLong(168, 4);
        b.putInt(0x200, 4).putInt(0x204, 4).putInt(0x208, 18).put(0x20C, new byte[] {'X', 'e', 'n', 0})
                .putInt(0x210, (int) BASE);
        int seg = 0x1000;
        byte[] bytes = HexFormat.of().parseHex(code.replace(" ", ""));
        b.put(seg, bytes);
        b.putLong(seg + 0x1000, (PML4 + 0x1000) | 3);
        b.putLong(seg + 0x2000, (PML4 + 0x2000) | 3);
        b.putLong(seg + 0x3000, 0x83).putLong(seg + 0x3008, 0x200083);
        b.putLong(seg + 0x4008, 0x00AF9A000000FFFFL);
        b.putShort(seg + 0x4020, (short) 15).putInt(seg + 0x4022, (int) GDT);
        b.putShort(seg + 0x4030, (short) 0).putLong(seg + 0x4032, 0); // an IDT with no entries
        Path kernel = work.resolve("kernel.elf");
        Files.write(kernel, image);
        return kernel;
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
        assertThat(o.log()).contains("triple fault", "RIP=", "CR0=", "EFER=");
    }

    @Test
    void exceptionWithNoIdtIn32BitModeTripleFaults() throws Exception {
        Outcome o = run(pvhKernel("0F0B")); // ud2 in the 32-bit PVH entry state, whose IDT limit is 0
        assertThat(o.status()).as(o.log()).isEqualTo(Machine.EXIT_TRIPLE_FAULT);
        assertThat(o.log()).contains("triple fault", "RIP=");
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
        assertThat(o.log()).contains("vCPU 0: watchdog: no progress for", "interrupts off", "RIP=", "CR0=");
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
