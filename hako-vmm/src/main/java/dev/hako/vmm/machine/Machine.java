package dev.hako.vmm.machine;

import dev.hako.core.accel.Accelerator;
import dev.hako.core.accel.VirtualCpu;
import dev.hako.core.accel.VirtualMachine;
import dev.hako.core.bus.MmioBus;
import dev.hako.core.bus.PioBus;
import dev.hako.core.memory.GuestMemory;
import dev.hako.core.time.NanoTimeClock;
import dev.hako.core.time.TimerQueue;
import dev.hako.core.time.VirtualClock;
import dev.hako.core.x86.X86CpuState;
import dev.hako.devices.backend.CharBackend;
import dev.hako.devices.irqchip.UserspaceIrqChip;
import dev.hako.devices.legacy.AcpiPm;
import dev.hako.devices.legacy.CmosRtc;
import dev.hako.devices.legacy.I8042;
import dev.hako.devices.legacy.Pit8254;
import dev.hako.devices.legacy.Uart16550;
import dev.hako.sys.Mman;
import dev.hako.vmm.boot.BootSpec;
import dev.hako.vmm.boot.BootState;
import dev.hako.vmm.boot.KernelFormatException;
import dev.hako.vmm.boot.KernelLoaders;
import dev.hako.vmm.firmware.AcpiSpec;
import dev.hako.vmm.firmware.AcpiTables;
import dev.hako.vmm.host.HostFile;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A PC-like virtual machine: RAM, the port and MMIO buses, the legacy devices (COM1, PIT, CMOS RTC, i8042,
 * ACPI PM), the interrupt controllers (8259 pair, IOAPIC, local APICs), ACPI tables, a kernel loaded by the
 * Linux boot protocol or PVH, and one platform thread per vCPU. {@link #run} returns the exit status:
 * {@link #EXIT_POWER_OFF} when the guest powers off (or resets: hako does not reboot, like QEMU's -no-reboot),
 * and with a register dump {@link #EXIT_TRIPLE_FAULT}, {@link #EXIT_FAILURE} (emulation or accelerator failure)
 * or {@link #EXIT_WATCHDOG}: a vCPU made no progress for the configured limit ({@link VcpuProgress} has the
 * rule; a {@link MachineConfig#watchdog} of zero turns it off).
 */
public final class Machine implements AutoCloseable {
    public static final int EXIT_POWER_OFF = 0, EXIT_TRIPLE_FAULT = 1, EXIT_FAILURE = 2, EXIT_WATCHDOG = 3;
    private static final int COM1 = 0x3F8, COM1_IRQ = 4;

    private final MachineConfig config;
    private final MemorySegment ramMapping;
    private final GuestMemory memory;
    private final VirtualClock clock = new NanoTimeClock();
    private final TimerQueue timers = new TimerQueue(clock);
    private final PioBus pio = new PioBus();
    private final MmioBus mmio = new MmioBus();
    private final UserspaceIrqChip irqChip;
    private final VirtualMachine vm;
    private final VcpuThread[] vcpuThreads;
    private final Thread timerThread;
    private final Watchdog watchdog;
    private final CountDownLatch finished = new CountDownLatch(1);
    private final PrintStream log;
    private volatile boolean stopping;
    private volatile int exitStatus = -1;
    private volatile String exitReason;

    private Machine(MachineConfig config, CharBackend console, PrintStream log) throws IOException,
            KernelFormatException {
        this.config = validate(config);
        this.log = log;
        this.ramMapping = Mman.reserve(config.memoryBytes(), Mman.PROT_READ | Mman.PROT_WRITE);
        this.memory = new GuestMemory(ramMapping);
        this.irqChip = new UserspaceIrqChip(config.cpus(), timers, Accelerator.TSC_HZ);
        irqChip.registerOn(pio, mmio);
        addDevices(console);

        AcpiSpec acpi = AcpiSpec.standard(config.cpus());
        long rsdp = AcpiTables.write(memory, acpi).rsdp();
        byte[] initrd = config.initrd() == null ? new byte[0]
                : HostFile.read(config.initrd(), "initrd", config.memoryBytes(), ramLimit(config));
        BootState boot = KernelLoaders.forFile(config.kernel(), config.memoryBytes(), ramLimit(config))
                .load(memory, BootSpec.of(config.memoryBytes(), config.cmdline(), initrd, rsdp));

        Accelerator accelerator = AcceleratorChoice.forName(config.accel(), log);
        this.vm = accelerator.createVm(memory, clock);
        MachineIo io = new MachineIo(pio, mmio, config.cpus());
        this.vcpuThreads = new VcpuThread[config.cpus()];
        long watchdogNanos = config.watchdog() == null ? 0 : config.watchdog().toNanos();
        for (int i = 0; i < config.cpus(); i++) {
            VirtualCpu vcpu = vm.createVcpu(i, io, new ApicInterrupts(irqChip, i));
            if (i == 0) {
                vcpu.load(BootStates.toCpuState(boot));
            }
            VcpuThread t = new VcpuThread(this, i, vcpu, irqChip, io,
                    watchdogNanos > 0 ? new VcpuProgress(watchdogNanos) : null);
            vcpuThreads[i] = t;
            irqChip.setKick(i, t::wake);
        }
        this.timerThread = Thread.ofPlatform().name("timers").daemon().unstarted(this::runTimers);
        this.watchdog = watchdogNanos > 0 ? new Watchdog(this, vcpuThreads, watchdogNanos) : null;
    }

    /** Builds the machine and loads the kernel; nothing runs until {@link #run}. */
    public static Machine create(MachineConfig config, CharBackend console, PrintStream log) throws IOException,
            KernelFormatException {
        validate(config);
        AcceleratorChoice.requireAvailable(config.accel());
        // Fail on a bad kernel or initrd before reserving guest RAM.
        KernelLoaders.forFile(config.kernel(), config.memoryBytes(), ramLimit(config));
        if (config.initrd() != null) {
            HostFile.requireReadable(config.initrd(), "initrd", config.memoryBytes(), ramLimit(config));
        }
        return new Machine(config, console, log);
    }

    private static String ramLimit(MachineConfig config) {
        return "the guest's " + HostFile.human(config.memoryBytes()) + " of RAM";
    }

    private static MachineConfig validate(MachineConfig c) {
        if (c.memoryBytes() < MachineConfig.MIN_MEMORY || c.memoryBytes() > MachineConfig.MAX_MEMORY) {
            throw new IllegalArgumentException(String.format("memory of %d bytes is outside %d MiB..%d MiB",
                    c.memoryBytes(), MachineConfig.MIN_MEMORY >> 20, MachineConfig.MAX_MEMORY >> 20));
        }
        if (c.watchdog() != null && c.watchdog().isNegative()) {
            throw new IllegalArgumentException("watchdog limit " + c.watchdog() + " is negative");
        }
        if (c.cpus() < 1 || c.cpus() > MachineConfig.MAX_CPUS) {
            throw new IllegalArgumentException("--cpus " + c.cpus() + " is outside 1.." + MachineConfig.MAX_CPUS);
        }
        if (!AcceleratorChoice.isKnown(c.accel())) {
            throw new IllegalArgumentException("accelerator '" + c.accel() + "' is not available (soft, kvm, auto)");
        }
        return c;
    }

    private void addDevices(CharBackend console) {
        Uart16550 com1 = new Uart16550(irqChip.isaIrq(COM1_IRQ), console);
        pio.register(COM1, 8, com1);
        Pit8254 pit = new Pit8254(timers, irqChip.isaIrq(Pit8254.IRQ));
        pio.register(Pit8254.BASE_PORT, Pit8254.PORT_COUNT, pit);
        pio.register(Pit8254.PORT_B, 1, pit.portB());
        CmosRtc rtc = CmosRtc.fromHostClock(timers, irqChip.isaIrq(CmosRtc.IRQ));
        rtc.setMemorySize(config.memoryBytes(), 0);
        pio.register(CmosRtc.BASE_PORT, CmosRtc.PORT_COUNT, rtc);
        I8042 i8042 = new I8042(irqChip.isaIrq(I8042.KEYBOARD_IRQ), irqChip.isaIrq(I8042.AUX_IRQ), this::guestReset);
        pio.register(I8042.DATA_PORT, 1, i8042.dataPort());
        pio.register(I8042.COMMAND_PORT, 1, i8042.commandPort());
        // The FADT describes a machine always in ACPI mode (no SMI command port), a 32-bit PM timer, no GPE0.
        AcpiSpec acpi = AcpiSpec.standard(config.cpus());
        AcpiPm pm = new AcpiPm(timers, irqChip.isaIrq(acpi.sciIrq()), acpi.s5SleepType(), true, true, 0,
                this::guestPowerOff, this::guestReset);
        pio.register(acpi.pm1aEventPort(), AcpiSpec.PM1_EVT_LEN, pm.eventBlock());
        pio.register(acpi.pm1aControlPort(), AcpiSpec.PM1_CNT_LEN, pm.controlBlock());
        pio.register(acpi.pmTimerPort(), AcpiSpec.PM_TMR_LEN, pm.timerBlock());
        pio.register(acpi.resetPort(), 1, pm.resetRegister());
    }

    boolean stopping() {
        return stopping;
    }

    /** Runs the guest until it powers off, resets or fails; returns the exit status. */
    public int run() throws InterruptedException {
        return run(Long.MAX_VALUE, TimeUnit.NANOSECONDS);
    }

    /** Runs with a time limit; returns -1 (and stops the guest) if it is still running then. */
    public int run(long timeout, TimeUnit unit) throws InterruptedException {
        timerThread.start();
        for (VcpuThread t : vcpuThreads) {
            t.thread().start();
        }
        if (watchdog != null) {
            watchdog.start();
        }
        if (!finished.await(timeout, unit)) {
            finish(-1, "time limit reached");
        }
        stopAll();
        return exitStatus;
    }

    public String exitReason() {
        return exitReason;
    }

    /** From the host: end the guest now (Ctrl-A X). */
    public void stop(String reason) {
        finish(EXIT_POWER_OFF, reason);
    }

    void guestPowerOff() {
        finish(EXIT_POWER_OFF, "guest powered off");
    }

    void guestReset() {
        finish(EXIT_POWER_OFF, "guest reset (hako does not reboot)");
    }

    void guestFailed(int vcpu, String reason, X86CpuState state) {
        String dump = state == null ? "" : "\n" + RegisterDump.format(vcpu, state);
        finish(reason.startsWith("triple fault") ? EXIT_TRIPLE_FAULT : EXIT_FAILURE,
                "vCPU " + vcpu + ": " + reason + dump);
    }

    void watchdogExpired(int vcpu, String reason, X86CpuState state) {
        finish(EXIT_WATCHDOG, "vCPU " + vcpu + ": " + reason + "\n" + RegisterDump.format(vcpu, state));
    }

    private synchronized void finish(int status, String reason) {
        if (exitStatus != -1 || finished.getCount() == 0) {
            return;
        }
        exitStatus = status;
        exitReason = reason;
        log.println("hako: " + reason);
        stopping = true;
        finished.countDown();
    }

    private void stopAll() {
        stopping = true;
        for (VcpuThread t : vcpuThreads) {
            t.stop();
        }
        timerThread.interrupt();
        if (watchdog != null) {
            watchdog.stop();
        }
        for (VcpuThread t : vcpuThreads) {
            try {
                t.thread().join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void runTimers() {
        try {
            while (!stopping) {
                timers.awaitAndRunDue(TimeUnit.MILLISECONDS.toNanos(100));
            }
        } catch (InterruptedException e) {
            // the machine is stopping
        } catch (RuntimeException e) {
            finish(EXIT_FAILURE, "timer thread died: " + e);
        }
    }

    @Override
    public void close() {
        stopAll();
        vm.close();
        Mman.release(ramMapping);
    }
}
