package dev.hako.vmm.machine;

import java.nio.file.Path;
import java.util.List;

/**
 * What the user asked for: the kernel, an optional initrd, the command line, RAM in bytes, vCPUs, the
 * accelerator, the disks (virtio-blk, in PCI slot order: the first is the guest's /dev/vda) and the other virtio
 * devices. {@link Machine} validates it.
 */
public record MachineConfig(Path kernel, Path initrd, String cmdline, long memoryBytes, int cpus, String accel,
                            List<Disk> disks, VirtioDevices virtio) {
    public MachineConfig {
        disks = List.copyOf(disks);
        virtio = virtio == null ? VirtioDevices.NONE : virtio;
    }

    /** A machine with disks and no other virtio devices. */
    public MachineConfig(Path kernel, Path initrd, String cmdline, long memoryBytes, int cpus, String accel,
                         List<Disk> disks) {
        this(kernel, initrd, cmdline, memoryBytes, cpus, accel, disks, VirtioDevices.NONE);
    }

    public MachineConfig withVirtio(VirtioDevices devices) {
        return new MachineConfig(kernel, initrd, cmdline, memoryBytes, cpus, accel, disks, devices);
    }

    /** A machine without disks. */
    public MachineConfig(Path kernel, Path initrd, String cmdline, long memoryBytes, int cpus, String accel) {
        this(kernel, initrd, cmdline, memoryBytes, cpus, accel, List.of());
    }

    public static final long DEFAULT_MEMORY = 512L << 20;
    /** Below the 32-bit MMIO hole that starts at 0xC0000000 (the IOAPIC and local APIC live above it). */
    public static final long MAX_MEMORY = 3L << 30;
    public static final int MAX_CPUS = 64;
}
