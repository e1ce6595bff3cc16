package dev.hako.vmm.snapshot;

import dev.hako.devices.backend.CharBackend;
import dev.hako.devices.virtio.net.MacAddress;
import dev.hako.vmm.image.disk.DiskImage;
import dev.hako.vmm.machine.Disk;
import dev.hako.vmm.machine.MachineConfig;
import dev.hako.vmm.machine.VirtioDevices;
import dev.hako.vmm.net.NetSpec;
import dev.hako.vmm.net.PortForward;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The part of a {@link MachineConfig} a snapshot needs to build the same machine again: its size, accelerator and
 * devices, the disks by path. Not the kernel, initrd or command line (the saved RAM holds what they became; the
 * command line is kept only to be shown), not the CPU scheduler's partition (the restoring host chooses it).
 *
 * @param watchdogMillis 0: no watchdog
 * @param balloonBytes   the balloon's initial size, -1: no balloon
 * @param virtioConsole  whether the machine has a virtio console (a restore connects it to the new console)
 * @param vsockPath      null: no vsock device
 * @param nets           the network cards, each reconnected to a backend of its own when the machine is built
 */
public record MachineSpec(long memoryBytes, int cpus, String accel, String cmdline, long watchdogMillis,
        List<DiskSpec> disks, long rngBytesPerSecond, long balloonBytes, boolean virtioConsole, long vsockCid,
        String vsockPath, List<NetCard> nets) {
    public MachineSpec {
        disks = List.copyOf(disks);
        nets = List.copyOf(nets);
    }

    /**
     * A disk image by path, with the format, access and serial it had; {@code frozen}: the snapshot point froze the
     * image under an overlay the machine went on with, so a restore must not write it either.
     */
    public record DiskSpec(String path, String format, boolean readOnly, String serial, boolean frozen) {
        DiskSpec freeze() {
            return readOnly ? this : new DiskSpec(path, format, false, serial, true);
        }
    }

    /**
     * A network card as {@code --net} gave it: a TAP device by name, or user networking (tap null) with its port
     * forwards in QEMU's spelling; and its MAC address.
     */
    public record NetCard(String tap, List<String> hostfwd, String mac) {
        public NetCard {
            hostfwd = List.copyOf(hostfwd);
        }

        static NetCard of(NetSpec spec) {
            return new NetCard(spec.tap(), spec.forwards().stream().map(PortForward::toString).toList(),
                    spec.mac().toString());
        }

        NetSpec toNetSpec() {
            return new NetSpec(tap, hostfwd.stream().map(PortForward::parse).toList(), MacAddress.parse(mac));
        }
    }

    /**
     * The spec of {@code config} run on {@code accelerator} (recorded instead of "auto": the vCPU state is the
     * accelerator's); refuses a machine with what a snapshot cannot hold yet.
     */
    static MachineSpec of(MachineConfig config, String accelerator) throws SnapshotException {
        VirtioDevices virtio = config.virtio();
        if (!config.isaDevices().isEmpty()) {
            throw new SnapshotException("a machine with QEMU's test devices (--device) cannot be snapshotted yet");
        }
        List<DiskSpec> disks = new ArrayList<>();
        for (Disk disk : config.disks()) {
            if (!(disk.backend() instanceof DiskImage image)) {
                throw new SnapshotException("disk '" + disk.serial() + "' is not an image file, so a snapshot "
                        + "cannot name it");
            }
            disks.add(new DiskSpec(image.path().toAbsolutePath().toString(), image.format().qemuName(),
                    image.readOnly(), disk.serial(), false));
        }
        long watchdog = config.watchdog() == null ? 0 : config.watchdog().toMillis();
        return new MachineSpec(config.memoryBytes(), config.cpus(), accelerator, config.cmdline(), watchdog, disks,
                virtio.rngBytesPerSecond(), virtio.balloonBytes(), virtio.console() != null, virtio.vsockCid(),
                virtio.vsockPath() == null ? null : virtio.vsockPath().toString(),
                virtio.nets().stream().map(NetCard::of).toList());
    }

    /** This spec with every writable disk marked frozen: the machine goes on with overlays over them. */
    MachineSpec withWritableDisksFrozen() {
        return new MachineSpec(memoryBytes, cpus, accel, cmdline, watchdogMillis,
                disks.stream().map(DiskSpec::freeze).toList(), rngBytesPerSecond, balloonBytes, virtioConsole,
                vsockCid, vsockPath, nets);
    }

    /** The configuration to build: no kernel, {@code opened} as the disks, the virtio console on {@code console}. */
    MachineConfig toConfig(List<Disk> opened, CharBackend console) {
        VirtioDevices virtio = VirtioDevices.NONE.withRng(rngBytesPerSecond).withBalloon(balloonBytes);
        if (vsockPath != null) {
            virtio = virtio.withVsock(vsockCid, Path.of(vsockPath));
        }
        if (virtioConsole) {
            virtio = virtio.withConsole(console);
        }
        for (NetCard net : nets) {
            virtio = virtio.withNet(net.toNetSpec());
        }
        return new MachineConfig(null, null, cmdline, memoryBytes, cpus, accel, opened,
                Duration.ofMillis(watchdogMillis), virtio);
    }
}
