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
import dev.hako.core.bus.PioDevice;
import dev.hako.core.irq.IrqLine;
import dev.hako.devices.backend.CharBackend;
import dev.hako.devices.irqchip.IoApic;
import dev.hako.devices.irqchip.LocalApic;
import dev.hako.devices.irqchip.Pic8259;
import dev.hako.devices.irqchip.UserspaceIrqChip;
import dev.hako.devices.legacy.AcpiPm;
import dev.hako.devices.legacy.CmosRtc;
import dev.hako.devices.legacy.I8042;
import dev.hako.devices.legacy.Pit8254;
import dev.hako.devices.legacy.PvPanic;
import dev.hako.devices.legacy.Uart16550;
import dev.hako.devices.pci.PciBar;
import dev.hako.devices.pci.PciFunction;
import dev.hako.devices.pci.PciHeader;
import dev.hako.devices.pci.PciRoot;
import dev.hako.devices.virtio.VirtioDevice;
import dev.hako.devices.virtio.VirtioPciFunction;
import dev.hako.devices.virtio.balloon.VirtioBalloon;
import dev.hako.devices.virtio.blk.VirtioBlock;
import dev.hako.devices.virtio.console.VirtioConsole;
import dev.hako.devices.virtio.rng.VirtioRng;
import dev.hako.sys.HostRandom;
import dev.hako.sys.Mman;
import dev.hako.vmm.boot.BootSpec;
import dev.hako.vmm.boot.BootState;
import dev.hako.vmm.boot.E820Map;
import dev.hako.vmm.boot.KernelFormatException;
import dev.hako.vmm.boot.KernelLoaders;
import dev.hako.vmm.firmware.AcpiSpec;
import dev.hako.vmm.firmware.AcpiTables;
import dev.hako.vmm.firmware.PciHostSpec;
import dev.hako.vmm.host.HostFile;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A PC-like virtual machine: RAM, the port and MMIO buses, the legacy devices (COM1, PIT, CMOS RTC, i8042,
 * ACPI PM), the interrupt controllers (8259 pair, IOAPIC, local APICs), a PCI host bridge (configuration
 * mechanism #1 and ECAM) with the PCI devices the configuration asks for, ACPI tables, a kernel loaded by the
 * Linux boot protocol or PVH, and one platform thread per vCPU. {@link #run} returns the exit status:
 * {@link #EXIT_POWER_OFF} when the guest powers off (or resets: hako does not reboot, like QEMU's -no-reboot),
 * and with a register dump {@link #EXIT_TRIPLE_FAULT}, {@link #EXIT_FAILURE} (emulation or accelerator failure)
 * or {@link #EXIT_WATCHDOG}: a vCPU made no progress for the configured limit ({@link VcpuProgress} has the
 * rule; a {@link MachineConfig#watchdog} of zero turns it off); {@link #EXIT_GUEST_PANIC} when the guest kernel
 * reports a panic through the pvpanic device (a kernel without its driver, booted with {@code panic=-1}, resets
 * instead, which is {@link #EXIT_POWER_OFF}).
 *
 * <p>Every component is in the {@link DeviceTable} under an id, and every port range, MMIO range, IRQ, PCI slot
 * and BAR comes from the {@link ResourceAllocator}, which refuses a second claim.
 */
public final class Machine implements AutoCloseable {
    public static final int EXIT_POWER_OFF = 0, EXIT_TRIPLE_FAULT = 1, EXIT_FAILURE = 2, EXIT_WATCHDOG = 3,
            EXIT_GUEST_PANIC = 4;
    private static final int COM1 = 0x3F8, COM1_IRQ = 4;
    /** MSI-X vectors all PCI functions together may have (the split irqchip's route table in KVM is 4096). */
    private static final int MSI_VECTOR_LIMIT = 1024;

    private final MachineConfig config;
    private final MemorySegment ramMapping;
    private final GuestMemory memory;
    private final VirtualClock clock = new NanoTimeClock();
    private final TimerQueue timers = new TimerQueue(clock);
    private final PioBus pio = new PioBus();
    private final MmioBus mmio = new MmioBus();
    private final UserspaceIrqChip irqChip;
    private final DeviceTable devices = new DeviceTable();
    private final ResourceAllocator resources;
    private final PciRoot pci;
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
        clock.pause(); // guest time starts when the machine runs
        this.ramMapping = Mman.reserve(config.memoryBytes(), Mman.PROT_READ | Mman.PROT_WRITE);
        this.memory = new GuestMemory(ramMapping);
        AcpiSpec acpi = AcpiSpec.standard(config.cpus());
        PciHostSpec host = acpi.pci();
        this.resources = new ResourceAllocator(PciRoot.SLOTS, host.ioStart(), host.ioEnd(), host.mmio32Start(),
                host.mmio32End(), host.mmio64Start(), host.mmio64End(), MSI_VECTOR_LIMIT);
        this.irqChip = devices.add("irqchip", new UserspaceIrqChip(config.cpus(), timers, Accelerator.TSC_HZ));
        resources.claimPorts("irqchip", Pic8259.MASTER_PORT, 2);
        resources.claimPorts("irqchip", Pic8259.SLAVE_PORT, 2);
        resources.claimPorts("irqchip", Pic8259.ELCR_PORT, 2);
        resources.claimMmio("irqchip", IoApic.DEFAULT_BASE, IoApic.MMIO_SIZE);
        resources.claimMmio("irqchip", LocalApic.DEFAULT_BASE, LocalApic.PAGE_SIZE);
        irqChip.registerOn(pio, mmio);
        addDevices(console, acpi);
        this.pci = addPciRoot(host);
        for (int i = 0; i < config.disks().size(); i++) {
            addDisk("virtio-blk" + i, config.disks().get(i));
        }
        addVirtioDevices(config.virtio());

        long rsdp = AcpiTables.write(memory, acpi).rsdp();
        byte[] initrd = config.initrd() == null ? new byte[0]
                : HostFile.read(config.initrd(), "initrd", config.memoryBytes(), ramLimit(config));
        E820Map memoryMap = E820Map.forRam(config.memoryBytes()).withReserved(host.ecamBase(), host.ecamSize());
        BootState boot = KernelLoaders.forFile(config.kernel(), config.memoryBytes(), ramLimit(config))
                .load(memory, new BootSpec(config.cmdline(), initrd, rsdp, memoryMap));

        Accelerator accelerator = AcceleratorChoice.forName(config.accel(), log);
        this.vm = accelerator.createVm(memory, clock);
        MachineIo io = new MachineIo(pio, mmio, config.cpus());
        this.vcpuThreads = new VcpuThread[config.cpus()];
        long watchdogNanos = config.watchdog() == null ? 0 : config.watchdog().toNanos();
        for (int i = 0; i < config.cpus(); i++) {
            VirtualCpu vcpu = devices.add("vcpu" + i, vm.createVcpu(i, io, new ApicInterrupts(irqChip, i)));
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

    private void addDevices(CharBackend console, AcpiSpec acpi) {
        Uart16550 com1 = devices.add("com1", new Uart16550(isaIrq("com1", COM1_IRQ), console));
        ports("com1", COM1, 8, com1);
        Pit8254 pit = devices.add("pit", new Pit8254(timers, isaIrq("pit", Pit8254.IRQ)));
        ports("pit", Pit8254.BASE_PORT, Pit8254.PORT_COUNT, pit);
        ports("pit", Pit8254.PORT_B, 1, pit.portB());
        CmosRtc rtc = devices.add("rtc", CmosRtc.fromHostClock(timers, isaIrq("rtc", CmosRtc.IRQ)));
        rtc.setMemorySize(config.memoryBytes(), 0);
        ports("rtc", CmosRtc.BASE_PORT, CmosRtc.PORT_COUNT, rtc);
        I8042 i8042 = devices.add("i8042", new I8042(isaIrq("i8042", I8042.KEYBOARD_IRQ),
                isaIrq("i8042", I8042.AUX_IRQ), this::guestReset));
        ports("i8042", I8042.DATA_PORT, 1, i8042.dataPort());
        ports("i8042", I8042.COMMAND_PORT, 1, i8042.commandPort());
        // The FADT describes a machine always in ACPI mode (no SMI command port), a 32-bit PM timer, no GPE0.
        AcpiPm pm = devices.add("acpi-pm", new AcpiPm(timers, isaIrq("acpi-pm", acpi.sciIrq()), acpi.s5SleepType(),
                true, true, 0, this::guestPowerOff, this::guestReset));
        ports("acpi-pm", acpi.pm1aEventPort(), AcpiSpec.PM1_EVT_LEN, pm.eventBlock());
        ports("acpi-pm", acpi.pm1aControlPort(), AcpiSpec.PM1_CNT_LEN, pm.controlBlock());
        ports("acpi-pm", acpi.pmTimerPort(), AcpiSpec.PM_TMR_LEN, pm.timerBlock());
        ports("acpi-pm", acpi.resetPort(), 1, pm.resetRegister());
        if (acpi.pvpanicPort() != 0) {
            PvPanic pvpanic = devices.add("pvpanic", new PvPanic(this::guestPanicked,
                    () -> log.println("hako: the guest kernel panicked; its crash kernel takes over")));
            ports("pvpanic", acpi.pvpanicPort(), PvPanic.PORT_COUNT, pvpanic);
        }
    }

    private PciRoot addPciRoot(PciHostSpec host) {
        PciRoot root = devices.add("pci", new PciRoot(pio, mmio, irqChip::gsi));
        ports("pci", PciRoot.CONFIG_ADDRESS_PORT, 1, root.configAddressPort());
        ports("pci", PciRoot.CONFIG_DATA_PORT, PciRoot.CONFIG_DATA_PORTS, root.configDataPort());
        resources.claimMmio("pci", host.ecamBase(), host.ecamSize());
        mmio.register(host.ecamBase(), host.ecamSize(), root.ecam());
        for (int i = 0; i < PciRoot.INTX_GSIS; i++) {
            resources.claimIrq("pci", PciRoot.INTX_FIRST_GSI + i);
        }
        return root;
    }

    /**
     * Puts {@code function} in the next free slot and places its BARs in the host bridge's windows, as firmware
     * does before the OS runs; returns the slot.
     */
    int addPciFunction(String id, PciFunction function) {
        devices.add(id, function);
        int slot = resources.allocateSlot(id);
        pci.attach(slot, function);
        for (int i = 0; i < PciHeader.BAR_COUNT; i++) {
            PciBar bar = function.bar(i);
            if (bar != null) {
                long address = switch (bar.kind()) {
                    case IO -> resources.allocateIoBar(bar.size());
                    case MEMORY_32 -> resources.allocateMmio32Bar(bar.size());
                    case MEMORY_64 -> resources.allocateMmio64Bar(bar.size());
                };
                pci.placeBar(slot, i, address);
            }
        }
        pci.enableDecoding(slot);
        return slot;
    }

    private void addDisk(String id, Disk disk) {
        addVirtio(id, new VirtioBlock(disk.backend(), disk.serial()));
    }

    private void addVirtioDevices(VirtioDevices virtio) {
        if (virtio.rngBytesPerSecond() > 0) {
            addVirtio("virtio-rng", new VirtioRng(HostRandom::fill, timers, virtio.rngBytesPerSecond()));
        }
        if (virtio.console() != null) {
            addVirtio("virtio-console", new VirtioConsole(virtio.console()));
        }
        if (virtio.balloonBytes() >= 0) {
            addVirtio("virtio-balloon", new VirtioBalloon((gpa, length) -> Mman.discard(ramMapping, gpa, length),
                    config.memoryBytes(), virtio.balloonBytes()));
        }
    }

    /** {@code device} (in the table as {@code id-device}) on its own virtio PCI function {@code id}. */
    private <T extends VirtioDevice> T addVirtio(String id, T device) {
        devices.add(id + "-device", device);
        VirtioPciFunction function = new VirtioPciFunction(id, memory, device, irqChip::deliverMsi);
        resources.allocateMsiVectors(id, function.msix().vectors());
        addPciFunction(id, function);
        return device;
    }

    private IrqLine isaIrq(String owner, int irq) {
        resources.claimIrq(owner, irq);
        return irqChip.isaIrq(irq);
    }

    private void ports(String owner, int port, int count, PioDevice device) {
        resources.claimPorts(owner, port, count);
        pio.register(port, count, device);
    }

    /** The machine's components by id. */
    public DeviceTable devices() {
        return devices;
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
        clock.resume();
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

    void guestPanicked() {
        finish(EXIT_GUEST_PANIC, "the guest kernel panicked");
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
        // A stopped machine is paused: its components' state no longer changes, and it can be saved.
        clock.pause();
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
        for (Disk disk : config.disks()) {
            try {
                disk.backend().close();
            } catch (IOException e) {
                log.println("hako: closing a disk image failed: " + e.getMessage());
            }
        }
        Mman.release(ramMapping);
    }
}
