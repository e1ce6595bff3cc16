package dev.hako.vmm.machine;

import dev.hako.vmm.sched.Partition;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What the user asked for: the kernel, an optional initrd (for a Multiboot kernel: its modules, as QEMU's
 * {@code -initrd} spells them, see {@link dev.hako.vmm.boot.BootModule}), the command line (null when the user gave
 * none: the kernel then gets its kind's default, see {@link MachineBuilder}), RAM in bytes, vCPUs, the
 * accelerator, the disks (virtio-blk, in PCI slot order: the first is the guest's /dev/vda), the watchdog's
 * limit (how much CPU time a vCPU may spend making no progress; zero for no watchdog, see {@link Machine}) and the
 * other virtio devices, the CPU scheduler's {@link Partition} (null: the vCPUs run unscheduled, as under
 * {@code hako run}), QEMU's ISA test devices, and whether the guest runs deterministically (guest time counted
 * in retired instructions on one soft vCPU, see {@link dev.hako.core.time.InstructionClock}). {@link Machine}
 * validates it.
 */
public record MachineConfig(Path kernel, Path initrd, String cmdline, long memoryBytes, int cpus, String accel,
        List<Disk> disks, Duration watchdog, VirtioDevices virtio, Partition partition,
        List<IsaDeviceSpec> isaDevices, boolean deterministic) {
    public static final long MIN_MEMORY = 16L << 20;
    public static final long DEFAULT_MEMORY = 512L << 20;
    /** Below the 32-bit MMIO hole that starts at 0xC0000000 (the IOAPIC and local APIC live above it). */
    public static final long MAX_MEMORY = 3L << 30;
    public static final int MAX_CPUS = 64;
    public static final String DEFAULT_WATCHDOG_SECONDS = "30";
    /** A deterministic guest's wall clock at power-on: 2025-01-01 00:00:00 UTC, not the host's date. */
    public static final long DETERMINISTIC_WALL_CLOCK_MILLIS = 1_735_689_600_000L;
    public static final Duration DEFAULT_WATCHDOG = Duration.ofSeconds(Long.parseLong(DEFAULT_WATCHDOG_SECONDS));

    public MachineConfig {
        disks = List.copyOf(disks);
        virtio = virtio == null ? VirtioDevices.NONE : virtio;
        isaDevices = isaDevices == null ? List.of() : List.copyOf(isaDevices);
    }

    /** Not deterministic. */
    public MachineConfig(Path kernel, Path initrd, String cmdline, long memoryBytes, int cpus, String accel,
            List<Disk> disks, Duration watchdog, VirtioDevices virtio, Partition partition,
            List<IsaDeviceSpec> isaDevices) {
        this(kernel, initrd, cmdline, memoryBytes, cpus, accel, disks, watchdog, virtio, partition, isaDevices,
                false);
    }

    /** No ISA test devices. */
    public MachineConfig(Path kernel, Path initrd, String cmdline, long memoryBytes, int cpus, String accel,
            List<Disk> disks, Duration watchdog, VirtioDevices virtio, Partition partition) {
        this(kernel, initrd, cmdline, memoryBytes, cpus, accel, disks, watchdog, virtio, partition, List.of());
    }

    /** Unscheduled. */
    public MachineConfig(Path kernel, Path initrd, String cmdline, long memoryBytes, int cpus, String accel,
            List<Disk> disks, Duration watchdog, VirtioDevices virtio) {
        this(kernel, initrd, cmdline, memoryBytes, cpus, accel, disks, watchdog, virtio, null);
    }

    /** Disks and the watchdog, no other virtio devices. */
    public MachineConfig(Path kernel, Path initrd, String cmdline, long memoryBytes, int cpus, String accel,
            List<Disk> disks, Duration watchdog) {
        this(kernel, initrd, cmdline, memoryBytes, cpus, accel, disks, watchdog, VirtioDevices.NONE);
    }

    public MachineConfig withVirtio(VirtioDevices devices) {
        return new MachineConfig(kernel, initrd, cmdline, memoryBytes, cpus, accel, disks, watchdog, devices,
                partition, isaDevices, deterministic);
    }

    /** With {@code replaced} as its disks. */
    public MachineConfig withDisks(List<Disk> replaced) {
        return new MachineConfig(kernel, initrd, cmdline, memoryBytes, cpus, accel, replaced, watchdog, virtio,
                partition, isaDevices, deterministic);
    }

    /** Scheduled in {@code p}, which must have as many vCPUs as the machine. */
    public MachineConfig withPartition(Partition p) {
        return new MachineConfig(kernel, initrd, cmdline, memoryBytes, cpus, accel, disks, watchdog, virtio, p,
                isaDevices, deterministic);
    }

    /** With QEMU's ISA test devices {@code devices}. */
    public MachineConfig withIsaDevices(List<IsaDeviceSpec> devices) {
        return new MachineConfig(kernel, initrd, cmdline, memoryBytes, cpus, accel, disks, watchdog, virtio,
                partition, devices, deterministic);
    }

    /**
     * Run deterministically: one soft vCPU whose retired instructions are guest time, no watchdog (its kicks and
     * its verdict come from host time), and the RTC starting at {@link #DETERMINISTIC_WALL_CLOCK_MILLIS}.
     */
    public MachineConfig withDeterministic(boolean on) {
        return new MachineConfig(kernel, initrd, cmdline, memoryBytes, cpus, accel, disks, watchdog, virtio,
                partition, isaDevices, on);
    }

    /** No disks, the default watchdog. */
    public MachineConfig(Path kernel, Path initrd, String cmdline, long memoryBytes, int cpus, String accel) {
        this(kernel, initrd, cmdline, memoryBytes, cpus, accel, List.of(), DEFAULT_WATCHDOG);
    }

    /** The default watchdog. */
    public MachineConfig(Path kernel, Path initrd, String cmdline, long memoryBytes, int cpus, String accel,
            List<Disk> disks) {
        this(kernel, initrd, cmdline, memoryBytes, cpus, accel, disks, DEFAULT_WATCHDOG);
    }

    /** No disks. */
    public MachineConfig(Path kernel, Path initrd, String cmdline, long memoryBytes, int cpus, String accel,
            Duration watchdog) {
        this(kernel, initrd, cmdline, memoryBytes, cpus, accel, List.of(), watchdog);
    }
}
