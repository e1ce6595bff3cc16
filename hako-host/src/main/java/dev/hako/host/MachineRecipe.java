package dev.hako.host;

import dev.hako.devices.backend.CharBackend;
import dev.hako.vmm.host.HostFile;
import dev.hako.vmm.image.Bundle;
import dev.hako.vmm.image.BundleFormatException;
import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import dev.hako.vmm.image.disk.DiskImages;
import dev.hako.vmm.machine.Disk;
import dev.hako.vmm.machine.IsaDeviceSpec;
import dev.hako.vmm.machine.MachineConfig;
import dev.hako.vmm.machine.VirtioDevices;
import dev.hako.vmm.net.NetSpec;
import dev.hako.vmm.net.PasstBackend;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What a user asks a VM to be, before anything is opened: both {@code hako run}'s options and a server's
 * {@link VmDefinition} come down to one, and {@link #prepare} turns it into a {@link MachineConfig} the same way
 * for both. Null means "not given": a bundle's value, else the default. A bundle's kernel, initrd, command line
 * and disk are used unless a kernel of the user's own replaces them; with no kernel at all the default guest
 * (Debian's cloud kernel and hako's busybox initramfs, fetched with apt on first use) boots.
 *
 * @param nets         each as {@code --net} spells it ({@link NetSpec#SYNTAX}); empty: none, or for a bundle
 *                     user networking with a free loopback port forwarded to its ssh
 * @param balloonBytes the balloon's initial size, -1 for no balloon
 * @param vsockPath    null for no vsock device
 * @param devices      QEMU's ISA test devices, each as {@code --device} spells it ({@link IsaDeviceSpec#SYNTAX})
 */
public record MachineRecipe(Path bundle, Path kernel, Path initrd, String cmdline, Long memoryBytes, Integer cpus,
        String accel, Duration watchdog, long rngBytesPerSecond, long balloonBytes, long vsockCid, Path vsockPath,
        List<String> nets, List<DiskOption> disks, List<String> devices) {

    public MachineRecipe {
        nets = List.copyOf(nets);
        disks = List.copyOf(disks);
        devices = List.copyOf(devices);
    }

    /**
     * The configuration, its disks open and locked, and for a bundle with default networking the host's loopback
     * port forwarded to the guest's ssh ({@code sshPort}, else 0).
     */
    public record Prepared(MachineConfig config, int sshPort) {}

    /**
     * Resolves the bundle and defaults, fetches the default guest when needed and opens the disks; {@code vmName}
     * derives the network cards' MAC addresses. Warnings (a bundle without passt) go to {@code log}. On a
     * failure nothing stays open.
     */
    public Prepared prepare(String vmName, CharBackend virtioConsole, PrintStream log) {
        Bundle loaded = loadBundle();
        List<IsaDeviceSpec> isaDevices = new ArrayList<>();
        for (int i = 0; i < devices.size(); i++) {
            try {
                isaDevices.add(IsaDeviceSpec.parse(devices.get(i)));
            } catch (IllegalArgumentException e) {
                throw HostException.badInput("devices[" + i + "]", e.getMessage());
            }
        }
        long bytes = memoryBytes != null ? memoryBytes
                : loaded != null ? loaded.memoryBytes() : MachineConfig.DEFAULT_MEMORY;
        int vcpus = cpus != null ? cpus : loaded != null ? loaded.cpus() : 1;
        VirtioDevices virtio = VirtioDevices.NONE;
        if (rngBytesPerSecond > 0) {
            virtio = virtio.withRng(rngBytesPerSecond);
        }
        if (balloonBytes >= 0) {
            virtio = virtio.withBalloon(balloonBytes);
        }
        if (vsockPath != null) {
            virtio = virtio.withVsock(vsockCid, vsockPath);
        }
        if (virtioConsole != null) {
            virtio = virtio.withConsole(virtioConsole);
        }
        List<String> netTexts = nets;
        int sshPort = 0;
        if (netTexts.isEmpty() && loaded != null && kernel == null) {
            if (PasstBackend.installed()) {
                sshPort = freeLoopbackPort();
                netTexts = List.of("user,hostfwd=tcp:127.0.0.1:" + sshPort + "-:22");
            } else {
                log.println("hako: the bundle boots without a network: --net user needs passt "
                        + "(apt-get install passt)");
            }
        }
        for (int i = 0; i < netTexts.size(); i++) {
            try {
                NetSpec spec = NetSpec.parse(netTexts.get(i), vmName + "#" + virtio.nets().size());
                if (spec != null) {
                    virtio = virtio.withNet(spec);
                }
            } catch (IllegalArgumentException e) {
                throw HostException.badInput("nets[" + i + "]", e.getMessage());
            }
        }
        // A kernel of the user's own replaces the bundle's kernel, initrd and command line together.
        boolean bundleBoots = loaded != null && kernel == null;
        Path kernelFile = bundleBoots ? loaded.kernelFile() : kernel;
        Path initrdFile = initrd != null ? initrd : bundleBoots ? loaded.initrdFile() : null;
        String line = cmdline != null ? cmdline : bundleBoots ? loaded.cmdline() : null;
        if (line != null && line.indexOf('\uFFFD') >= 0) {
            throw HostException.badInput("cmdline", "the command line holds bytes this host's character "
                    + "encoding (" + System.getProperty("sun.jnu.encoding") + ") cannot decode, and hako passes the "
                    + "command line unchanged or not at all: run hako in a UTF-8 locale (LC_ALL=C.UTF-8)");
        }
        if (kernelFile == null) {
            DebianPackages packages = DebianPackages.inDefaultCache();
            try {
                kernelFile = packages.debianKernel();
            } catch (IOException e) {
                throw HostException.unavailable("kernel", "cannot fetch the default guest's kernel ("
                        + HostFile.describe(e) + "); give a kernel");
            }
            if (initrdFile == null) {
                try {
                    initrdFile = DefaultGuest.cachedInitramfs(packages);
                } catch (IOException e) {
                    throw HostException.unavailable("initrd", "cannot make the default guest's initramfs ("
                            + HostFile.describe(e) + "); give an initrd");
                }
            }
            if (line == null) {
                line = DefaultGuest.CMDLINE;
            }
        }
        List<DiskOption> diskOptions = new ArrayList<>();
        if (loaded != null) {
            diskOptions.add(new DiskOption(loaded.diskFile(), loaded.disk().format(), false, "hako-disk0"));
        }
        diskOptions.addAll(disks);
        List<Disk> opened = openDisks(diskOptions);
        return new Prepared(new MachineConfig(kernelFile, initrdFile, line, bytes, vcpus, accel, opened,
                watchdog, virtio).withIsaDevices(isaDevices), sshPort);
    }

    private Bundle loadBundle() {
        if (bundle == null) {
            return null;
        }
        try {
            return Bundle.load(bundle);
        } catch (BundleFormatException e) {
            throw HostException.badInput("bundle", e.getMessage());
        }
    }

    /** A port nobody listens on at 127.0.0.1 now (passt binds it a moment later). */
    private static int freeLoopbackPort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw HostException.unavailable("nets", "no free port on 127.0.0.1 for the guest's ssh: " + e.getMessage());
        }
    }

    /** Opens every image (locking it as QEMU does); on a failure, closes those already open and says which. */
    private static List<Disk> openDisks(List<DiskOption> options) {
        List<Disk> opened = new ArrayList<>();
        for (int i = 0; i < options.size(); i++) {
            DiskOption option = options.get(i);
            try {
                opened.add(new Disk(DiskImages.open(option.path(), option.format(), option.readOnly()),
                        option.serial()));
            } catch (IOException | IllegalArgumentException e) {
                Disk.closeAll(opened);
                throw HostException.badInput("disks[" + i + "]", "--disk: " + e.getMessage());
            }
        }
        return opened;
    }
}
