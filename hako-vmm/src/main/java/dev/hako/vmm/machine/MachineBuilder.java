package dev.hako.vmm.machine;

import dev.hako.core.accel.Accelerator;
import dev.hako.core.accel.VirtualCpu;
import dev.hako.core.accel.VirtualMachine;
import dev.hako.core.bus.MmioBus;
import dev.hako.core.bus.PioBus;
import dev.hako.core.memory.GuestMemory;
import dev.hako.core.time.InstructionClock;
import dev.hako.core.time.NanoTimeClock;
import dev.hako.core.time.TimerQueue;
import dev.hako.core.time.VirtualClock;
import dev.hako.core.bus.PioDevice;
import dev.hako.core.irq.IrqLine;
import dev.hako.devices.backend.CharBackend;
import dev.hako.devices.backend.PageReclaimer;
import dev.hako.devices.irqchip.IoApic;
import dev.hako.devices.irqchip.LocalApic;
import dev.hako.devices.irqchip.Pic8259;
import dev.hako.devices.irqchip.UserspaceIrqChip;
import dev.hako.devices.legacy.AcpiPm;
import dev.hako.devices.legacy.CmosRtc;
import dev.hako.devices.legacy.I8042;
import dev.hako.devices.legacy.IsaDebugExit;
import dev.hako.devices.legacy.IsaDebugcon;
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
import dev.hako.devices.virtio.net.VirtioNet;
import dev.hako.devices.virtio.vsock.VirtioVsock;
import dev.hako.sys.HostRandom;
import dev.hako.sys.Mman;
import dev.hako.vmm.boot.BootModule;
import dev.hako.vmm.boot.BootSpec;
import dev.hako.vmm.boot.BootState;
import dev.hako.vmm.boot.E820Map;
import dev.hako.vmm.boot.KernelFormatException;
import dev.hako.vmm.boot.KernelLoader;
import dev.hako.vmm.boot.KernelLoaders;
import dev.hako.vmm.boot.MultibootLoader;
import dev.hako.vmm.firmware.AcpiSpec;
import dev.hako.vmm.firmware.AcpiTables;
import dev.hako.vmm.firmware.PciHostSpec;
import dev.hako.vmm.host.FileConsole;
import dev.hako.vmm.host.HostFile;
import dev.hako.vmm.image.disk.DiskImage;
import dev.hako.vmm.image.disk.HandoverDisk;
import dev.hako.vmm.net.NetSpec;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a {@link MachineConfig} into a {@link Machine}: reserves guest RAM, wires the legacy devices, the
 * interrupt controllers, the PCI host bridge and the PCI functions the configuration asks for, writes the ACPI
 * tables, loads the kernel, and creates the vCPUs. Every component goes into the {@link DeviceTable} under an
 * id, and every port range, MMIO range, IRQ, PCI slot, BAR and MSI vector comes from the
 * {@link ResourceAllocator}, which refuses a second claim: wiring is written once, here.
 *
 * <p>A builder builds one machine. The checks that need no RAM (the configuration, the accelerator, the kernel's
 * and initrd's files) run before any is reserved, so a mistake costs nothing.
 *
 * <p>A machine to be restored from a snapshot ({@link #restoringMemory}) gets its RAM as a copy-on-write mapping of
 * the snapshot's memory file and neither firmware tables nor a kernel: its RAM holds them already, and its
 * components' state comes from the snapshot afterwards (the configuration's kernel may be null).
 */
public final class MachineBuilder {
    private static final int COM1 = 0x3F8, COM1_IRQ = 4;
    /** A Linux kernel's command line when the user gave none: its console on COM1. */
    private static final String DEFAULT_LINUX_CMDLINE = "console=ttyS0";
    /** MSI-X vectors all PCI functions together may have (the split irqchip's route table in KVM is 4096). */
    private static final int MSI_VECTOR_LIMIT = 1024;

    private final MachineConfig config;
    private final CharBackend console;
    private final PrintStream log;
    private final MachineExit exit;
    private final VirtualClock clock;
    private final TimerQueue timers;
    private final PioBus pio = new PioBus();
    private final MmioBus mmio = new MmioBus();
    private final DeviceTable devices = new DeviceTable();
    /** Host resources of devices (threads, sockets, socket files), closed with the machine or a failed build. */
    private final List<AutoCloseable> hostResources = new ArrayList<>();
    private MemorySegment ramMapping;
    /** The snapshot's memory file to map as RAM, null to boot a kernel (or to receive a migration). */
    private Path restoredMemory;
    /** True for a machine whose RAM and state come from a migration stream: fresh RAM, no kernel. */
    private boolean incoming;
    private GuestMemory memory;
    private ResourceAllocator resources;
    private UserspaceIrqChip irqChip;
    private PciRoot pci;
    private KernelLoader kernelLoader;

    public MachineBuilder(MachineConfig config, CharBackend console, PrintStream log) {
        this.config = handedOverable(validate(config));
        this.console = console;
        this.log = log;
        this.exit = new MachineExit(log);
        if (config.deterministic()) {
            InstructionClock counted = new InstructionClock();
            this.clock = counted;
            this.timers = counted.timers();
        } else {
            this.clock = new NanoTimeClock();
            this.timers = new TimerQueue(clock);
        }
    }

    /**
     * The configuration with each disk image behind a {@link HandoverDisk}, so that a live migration can release it
     * and take it again; other backends stay as they are (a migration refuses them).
     */
    private static MachineConfig handedOverable(MachineConfig config) {
        List<Disk> disks = new ArrayList<>();
        for (Disk disk : config.disks()) {
            disks.add(disk.backend() instanceof DiskImage image
                    ? new Disk(HandoverDisk.of(image), disk.serial()) : disk);
        }
        return config.withDisks(disks);
    }

    /**
     * Builds a machine whose RAM is {@code memoryFile} mapped copy-on-write (at least the configuration's memory
     * size long), with no kernel loaded: the caller restores every component's state before it starts.
     */
    public MachineBuilder restoringMemory(Path memoryFile) {
        this.restoredMemory = memoryFile;
        return this;
    }

    /**
     * Builds a machine with fresh (zero) RAM and no kernel loaded, for a live migration to fill: the caller writes
     * RAM and restores every component's state before it starts.
     */
    public MachineBuilder incoming() {
        this.incoming = true;
        return this;
    }

    private boolean restoring() {
        return restoredMemory != null || incoming;
    }

    /** Builds the machine and loads the kernel; nothing runs until {@link Machine#run}. */
    public Machine build() throws IOException, KernelFormatException {
        if (ramMapping != null) {
            throw new IllegalStateException("a MachineBuilder builds one machine");
        }
        AcceleratorChoice.requireAvailable(config.accel());
        if (!restoring()) {
            // Fail on a bad kernel, initrd or module before reserving guest RAM.
            kernelLoader = KernelLoaders.forFile(config.kernel(), config.memoryBytes(), ramLimit(config));
            if (kernelLoader instanceof MultibootLoader) {
                for (String item : moduleItems()) {
                    HostFile.requireReadable(BootModule.file(item), "Multiboot module", config.memoryBytes(),
                            ramLimit(config));
                }
            } else if (config.initrd() != null) {
                HostFile.requireReadable(config.initrd(), "initrd", config.memoryBytes(), ramLimit(config));
            }
        }
        IsaDeviceSpec.checkFiles(config.isaDevices());
        clock.pause(); // guest time starts when the machine runs
        ramMapping = restoredMemory != null ? mapMemoryFile(restoredMemory, config.memoryBytes())
                : Mman.reserve(config.memoryBytes(), Mman.PROT_READ | Mman.PROT_WRITE);
        try {
            return wire();
        } catch (IOException | RuntimeException | Error e) {
            Machine.closeAll(hostResources, log);
            Mman.release(ramMapping);
            throw e;
        }
    }

    private static MemorySegment mapMemoryFile(Path file, long bytes) throws IOException {
        long size = Files.size(file);
        if (size != bytes) {
            throw new IOException(file + " holds " + size + " bytes, not the machine's " + bytes + " of RAM");
        }
        return Mman.mapPrivateFile(file.toString(), bytes);
    }

    private Machine wire() throws IOException, KernelFormatException {
        memory = new GuestMemory(ramMapping);
        exit.showCodeFrom(memory);
        devices.add("clock", clock); // first: the devices re-arm their timers from the restored guest time
        AcpiSpec acpi = AcpiSpec.standard(config.cpus());
        PciHostSpec host = acpi.pci();
        resources = new ResourceAllocator(PciRoot.SLOTS, host.ioStart(), host.ioEnd(), host.mmio32Start(),
                host.mmio32End(), host.mmio64Start(), host.mmio64End(), MSI_VECTOR_LIMIT);
        addIrqChip();
        addLegacyDevices(acpi);
        addIsaTestDevices();
        pci = addPciRoot(host);
        for (int i = 0; i < config.disks().size(); i++) {
            Disk disk = config.disks().get(i);
            addVirtio("virtio-blk" + i, new VirtioBlock(disk.backend(), disk.serial()));
        }
        addVirtioDevices(config.virtio());

        BootState boot = restoring() ? null : loadKernel(acpi, host);

        Accelerator accelerator = AcceleratorChoice.forName(config.accel(), log);
        VirtualMachine vm = accelerator.createVm(memory, clock);
        MachineIo io = new MachineIo(pio, mmio, config.cpus());
        VcpuThread[] vcpuThreads = new VcpuThread[config.cpus()];
        PauseGate pauseGate = new PauseGate(exit);
        long watchdogNanos = config.watchdog() == null || config.deterministic() ? 0 : config.watchdog().toNanos();
        for (int i = 0; i < config.cpus(); i++) {
            VirtualCpu vcpu = devices.add("vcpu" + i, vm.createVcpu(i, io, new ApicInterrupts(irqChip, i)));
            if (i == 0 && boot != null) {
                vcpu.load(BootStates.toCpuState(boot));
            }
            VcpuThread t = new VcpuThread(exit, i, vcpu, irqChip, io,
                    watchdogNanos > 0 ? new VcpuProgress(watchdogNanos) : null,
                    config.partition() == null ? null : config.partition().vcpu(i), pauseGate,
                    clock instanceof InstructionClock counted ? counted : null);
            vcpuThreads[i] = t;
            irqChip.setKick(i, t::wake);
        }
        exit.onFinish(() -> {
            for (VcpuThread t : vcpuThreads) {
                t.stop();
            }
        });
        devices.add("vcpu-startup", new VcpuStartup(vcpuThreads));
        Watchdog watchdog = watchdogNanos > 0 ? new Watchdog(exit, vcpuThreads, watchdogNanos) : null;
        return new Machine(config, log, ramMapping, clock, timers, devices, hostResources, vm, accelerator.name(),
                vcpuThreads, watchdog, exit, pauseGate, memory.dirtyPages());
    }

    /**
     * Writes the ACPI tables and loads the kernel and its initrd or modules into RAM; returns the boot vCPU's
     * first state.
     */
    private BootState loadKernel(AcpiSpec acpi, PciHostSpec host) throws IOException, KernelFormatException {
        long rsdp = AcpiTables.write(memory, acpi).rsdp();
        E820Map memoryMap = E820Map.forRam(config.memoryBytes()).withReserved(host.ecamBase(), host.ecamSize());
        return kernelLoader.load(memory, bootSpec(rsdp, memoryMap));
    }

    /**
     * A Multiboot kernel gets {@code --initrd} as its modules (QEMU's syntax, see {@link BootModule}) and, when the
     * user gave no command line, an empty one, as QEMU gives it; a Linux kernel gets the one file as its initrd
     * and by default its console on the serial port.
     */
    private BootSpec bootSpec(long rsdp, E820Map memoryMap) throws IOException {
        if (kernelLoader instanceof MultibootLoader) {
            List<BootModule> modules = new ArrayList<>();
            for (String item : moduleItems()) {
                modules.add(new BootModule(item, HostFile.read(BootModule.file(item), "Multiboot module",
                        config.memoryBytes(), ramLimit(config))));
            }
            String cmdline = config.cmdline() != null ? config.cmdline() : "";
            return new BootSpec(cmdline, new byte[0], rsdp, memoryMap, modules);
        }
        byte[] initrd = config.initrd() == null ? new byte[0]
                : HostFile.read(config.initrd(), "initrd", config.memoryBytes(), ramLimit(config));
        String cmdline = config.cmdline() != null ? config.cmdline() : DEFAULT_LINUX_CMDLINE;
        return new BootSpec(cmdline, initrd, rsdp, memoryMap);
    }

    private List<String> moduleItems() {
        return config.initrd() == null ? List.of() : BootModule.items(config.initrd().toString());
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
        if (c.partition() != null && c.partition().vcpuCount() != c.cpus()) {
            throw new IllegalArgumentException("partition '" + c.partition().name() + "' has "
                    + c.partition().vcpuCount() + " vCPUs, the machine " + c.cpus());
        }
        if (!AcceleratorChoice.isKnown(c.accel())) {
            throw new IllegalArgumentException("accelerator '" + c.accel() + "' is not available (soft, kvm, auto)");
        }
        if (c.deterministic()) {
            requireDeterministic(c);
        }
        return c;
    }

    /**
     * What deterministic execution cannot offer: a second vCPU (two threads interleave by host timing) or KVM
     * (it keeps its own time), and host entropy. Inputs the host times (console typing, network, vsock) are
     * allowed: a run that uses them is not reproduced.
     */
    private static void requireDeterministic(MachineConfig c) {
        if (!"soft".equals(c.accel())) {
            throw new IllegalArgumentException("--deterministic runs on the soft CPU only (--accel soft), not "
                    + c.accel());
        }
        if (c.cpus() != 1) {
            throw new IllegalArgumentException("--deterministic runs one vCPU, not --cpus " + c.cpus());
        }
        if (c.virtio().rngBytesPerSecond() > 0) {
            throw new IllegalArgumentException("--deterministic cannot have --rng: it feeds the guest the host's "
                    + "entropy");
        }
        if (c.partition() != null) {
            throw new IllegalArgumentException("a deterministic machine cannot be scheduled: its throttling is "
                    + "host time");
        }
    }

    private void addIrqChip() {
        irqChip = devices.add("irqchip", new UserspaceIrqChip(config.cpus(), timers, Accelerator.TSC_HZ));
        resources.claimPorts("irqchip", Pic8259.MASTER_PORT, 2);
        resources.claimPorts("irqchip", Pic8259.SLAVE_PORT, 2);
        resources.claimPorts("irqchip", Pic8259.ELCR_PORT, 2);
        resources.claimMmio("irqchip", IoApic.DEFAULT_BASE, IoApic.MMIO_SIZE);
        resources.claimMmio("irqchip", LocalApic.DEFAULT_BASE, LocalApic.PAGE_SIZE);
        irqChip.registerOn(pio, mmio);
    }

    private void addLegacyDevices(AcpiSpec acpi) {
        Uart16550 com1 = devices.add("com1", new Uart16550(isaIrq("com1", COM1_IRQ), console));
        ports("com1", COM1, 8, com1);
        Pit8254 pit = devices.add("pit", new Pit8254(timers, isaIrq("pit", Pit8254.IRQ)));
        ports("pit", Pit8254.BASE_PORT, Pit8254.PORT_COUNT, pit);
        ports("pit", Pit8254.PORT_B, 1, pit.portB());
        CmosRtc rtc = devices.add("rtc", config.deterministic()
                ? new CmosRtc(timers, isaIrq("rtc", CmosRtc.IRQ), MachineConfig.DETERMINISTIC_WALL_CLOCK_MILLIS)
                : CmosRtc.fromHostClock(timers, isaIrq("rtc", CmosRtc.IRQ)));
        rtc.setMemorySize(config.memoryBytes(), 0);
        ports("rtc", CmosRtc.BASE_PORT, CmosRtc.PORT_COUNT, rtc);
        I8042 i8042 = devices.add("i8042", new I8042(isaIrq("i8042", I8042.KEYBOARD_IRQ),
                isaIrq("i8042", I8042.AUX_IRQ), exit::guestReset));
        ports("i8042", I8042.DATA_PORT, 1, i8042.dataPort());
        ports("i8042", I8042.COMMAND_PORT, 1, i8042.commandPort());
        // The FADT describes a machine always in ACPI mode (no SMI command port), a 32-bit PM timer, no GPE0.
        AcpiPm pm = devices.add("acpi-pm", new AcpiPm(timers, isaIrq("acpi-pm", acpi.sciIrq()), acpi.s5SleepType(),
                true, true, 0, exit::guestPowerOff, exit::guestReset));
        ports("acpi-pm", acpi.pm1aEventPort(), AcpiSpec.PM1_EVT_LEN, pm.eventBlock());
        ports("acpi-pm", acpi.pm1aControlPort(), AcpiSpec.PM1_CNT_LEN, pm.controlBlock());
        ports("acpi-pm", acpi.pmTimerPort(), AcpiSpec.PM_TMR_LEN, pm.timerBlock());
        ports("acpi-pm", acpi.resetPort(), 1, pm.resetRegister());
        if (acpi.pvpanicPort() != 0) {
            PvPanic pvpanic = devices.add("pvpanic", new PvPanic(exit::guestPanicked,
                    () -> log.println("hako: the guest kernel panicked; its crash kernel takes over")));
            ports("pvpanic", acpi.pvpanicPort(), PvPanic.PORT_COUNT, pvpanic);
        }
    }

    /** QEMU's test devices: the user chose their ports, so a port taken already is the user's mistake. */
    private void addIsaTestDevices() {
        for (int i = 0; i < config.isaDevices().size(); i++) {
            IsaDeviceSpec spec = config.isaDevices().get(i);
            String id = spec.type() + i;
            try {
                resources.claimPorts(id, spec.iobase(), spec.portCount());
            } catch (IllegalStateException e) {
                throw new IllegalArgumentException(String.format("--device %s,iobase=%#x: its ports are taken (%s)",
                        spec.type(), spec.iobase(), e.getMessage()));
            }
            PioDevice device = switch (spec) {
                case IsaDeviceSpec.DebugExit e -> new IsaDebugExit(e.iosize(), (value, status) -> exit.finish(status,
                        String.format("the guest wrote %#x to isa-debug-exit: exit status %d", value, status)));
                case IsaDeviceSpec.Debugcon c ->
                        new IsaDebugcon(c.file() == null ? console : openFile(c), c.readback());
            };
            pio.register(spec.iobase(), spec.portCount(), devices.add(id, device));
        }
    }

    private FileConsole openFile(IsaDeviceSpec.Debugcon spec) {
        try {
            FileConsole file = new FileConsole(spec.file());
            hostResources.add(file);
            return file;
        } catch (IOException e) {
            throw new IllegalArgumentException("--device isa-debugcon,chardev=" + spec.file()
                    + ": cannot open it for appending (" + HostFile.describe(e) + ")");
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
    private int addPciFunction(String id, PciFunction function) {
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

    private void addVirtioDevices(VirtioDevices virtio) {
        if (virtio.rngBytesPerSecond() > 0) {
            addVirtio("virtio-rng", new VirtioRng(HostRandom::fill, timers, virtio.rngBytesPerSecond()));
        }
        if (virtio.console() != null) {
            addVirtio("virtio-console", new VirtioConsole(virtio.console()));
        }
        if (virtio.balloonBytes() >= 0) {
            PageReclaimer discard = (gpa, length) -> {
                Mman.discard(ramMapping, gpa, length);
                memory.written(gpa, length);  // the pages read as zeros (or the snapshot's pages) now
            };
            addVirtio("virtio-balloon", new VirtioBalloon(discard, config.memoryBytes(), virtio.balloonBytes()));
        }
        if (virtio.vsockPath() != null) {
            VirtioVsock vsock;
            try {
                vsock = new VirtioVsock(virtio.vsockCid(), virtio.vsockPath());
            } catch (IOException e) {
                throw new IllegalArgumentException("vsock socket " + virtio.vsockPath() + ": cannot listen there ("
                        + HostFile.describe(e) + ")");
            }
            hostResources.add(vsock);
            addVirtio("virtio-vsock", vsock);
        }
        for (int i = 0; i < virtio.nets().size(); i++) {
            NetSpec spec = virtio.nets().get(i);
            VirtioNet net;
            try {
                net = new VirtioNet(spec.mac(), incoming ? spec.openIncoming() : spec.open());
            } catch (IOException e) {
                throw new IllegalArgumentException((spec.user() ? "--net user: " : "--net tap=" + spec.tap() + ": ")
                        + HostFile.describe(e));
            }
            hostResources.add(net);
            addVirtio("virtio-net" + i, net);
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
}
