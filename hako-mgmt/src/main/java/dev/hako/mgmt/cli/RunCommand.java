package dev.hako.mgmt.cli;

import dev.hako.devices.virtio.vsock.VirtioVsock;
import dev.hako.vmm.boot.KernelFormatException;
import dev.hako.vmm.host.FileConsole;
import dev.hako.vmm.host.HostFile;
import dev.hako.vmm.host.StdioConsole;
import dev.hako.vmm.host.UnusableFileException;
import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.Bundle;
import dev.hako.vmm.image.BundleFormatException;
import dev.hako.vmm.image.DefaultGuest;
import dev.hako.vmm.image.disk.DiskFormat;
import dev.hako.vmm.image.disk.DiskImages;
import dev.hako.vmm.machine.Disk;
import dev.hako.vmm.machine.Machine;
import dev.hako.vmm.machine.MachineConfig;
import dev.hako.vmm.machine.VirtioDevices;
import dev.hako.vmm.net.NetSpec;
import dev.hako.vmm.net.PasstBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code hako run}: boots a Linux kernel in a virtual machine. Given a bundle directory (made by {@code hako image
 * create}) it boots the bundle's kernel, initrd and disk; with no --kernel it boots the default guest: Debian's
 * cloud kernel and a busybox initramfs hako builds itself, fetched on first use with apt.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Boot a Linux kernel in a virtual machine: a bundle made by `hako image create`, a kernel of "
                + "your own, or the default guest (a busybox shell) when given neither.",
        footerHeading = "%nExamples:%n",
        footer = {"  hako run                                   the default guest",
                "  hako run ~/vms/debian                      a bundle made by hako image create",
                "  hako run ~/vms/debian --disk data.qcow2    the same with a second disk (/dev/vdb)",
                "  hako run --kernel bzImage --initrd rootfs.cpio --append 'console=ttyS0 root=/dev/vda' \\",
                "           --disk root.raw,format=raw --memory 1G --cpus 2",
                "  hako run --vsock 3,/tmp/v.sock             vsock: then `socat - UNIX-CONNECT:/tmp/v.sock`, "
                        + "type CONNECT 5000",
                "  hako run --net user,hostfwd=tcp:127.0.0.1:8080-:80   user networking (passt), host port 8080 "
                        + "to the guest's 80",
                "  hako run --net tap=tap0                    the host's TAP device tap0",
                "",
                "Console:",
                "The guest's first serial port is on standard input and output. On a terminal, Ctrl-A X ends the "
                + "VM. When standard input is not a terminal (a pipe, a file), its bytes wait until the guest reads "
                + "them, and its end is sent to the guest as one Ctrl-D, the terminal's end of file: the default "
                + "guest's shell then exits and the machine powers off, so `printf 'uname -a\\n' | hako run` ends "
                + "by itself."},
        exitCodeListHeading = "%nExit status:%n")
final class RunCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "BUNDLE",
            description = "A bundle directory made by `hako image create`: boots its kernel, initrd and disk with its "
                    + "command line, memory and vCPUs; options given as well override them, --disk adds disks.")
    Path bundleDirectory;

    @Option(names = "--disk", paramLabel = "PATH[,format=raw|qcow2][,readonly=on][,serial=TEXT]",
            description = "A virtio-blk disk, repeatable: the first is /dev/vda, then vdb, ... The format is "
                    + "detected from the image when not given; readonly=on makes the guest's writes fail; the "
                    + "image is locked as QEMU locks it, so two VMs cannot write one image.")
    List<String> disks = new ArrayList<>();

    @Option(names = "--kernel", paramLabel = "FILE", description = "bzImage or PVH vmlinux to boot.")
    Path kernel;

    @Option(names = "--initrd", paramLabel = "FILE", description = "Initial ramdisk (cpio, optionally compressed).")
    Path initrd;

    @Option(names = "--append", paramLabel = "CMDLINE",
            description = "Kernel command line (passed to the guest as UTF-8 bytes).")
    String append;

    @Option(names = "--memory", paramLabel = "SIZE",
            description = "Guest RAM, 16M to 3G, e.g. 512M or 1G (default: the bundle's, else 512M).")
    String memory;

    @Option(names = "--cpus", paramLabel = "N", description = "vCPUs (default: the bundle's, else 1).")
    Integer cpus;

    @Option(names = "--accel", paramLabel = "soft|kvm|auto", defaultValue = "auto",
            description = "CPU accelerator: hako's soft CPU, the host's KVM, or KVM where it can run the guest "
                    + "and soft otherwise (default: ${DEFAULT-VALUE}).")
    String accel;

    @Option(names = "--watchdog", paramLabel = "SECONDS", defaultValue = MachineConfig.DEFAULT_WATCHDOG_SECONDS,
            description = "End the VM (status 3) when a vCPU spends this much CPU time with interrupts off and "
                    + "neither halts nor touches a device; 0 turns the watchdog off (default: ${DEFAULT-VALUE}).")
    String watchdog;

    @Option(names = "--rng", paramLabel = "RATE", arity = "0..1", fallbackValue = "4M",
            description = "A virtio-rng entropy device (the guest's /dev/hwrng) fed by the host's getrandom, "
                    + "at most RATE bytes per second (default 4M), e.g. --rng or --rng=1M.")
    String rng;

    @Option(names = "--virtio-console", paramLabel = "stdio|FILE",
            description = "A virtio console whose port is the guest's /dev/hvc0: on hako's own terminal (stdio: "
                    + "the terminal's input then goes to hvc0 instead of ttyS0) or appended to FILE, e.g. "
                    + "--virtio-console stdio --append \"console=hvc0\".")
    String virtioConsole;

    @Option(names = "--balloon", paramLabel = "SIZE", arity = "0..1", fallbackValue = "0",
            description = "A virtio memory balloon (statistics, deflate on OOM) that starts SIZE large, taking that "
                    + "much RAM back from the guest (default 0), e.g. --balloon or --balloon=256M.")
    String balloon;

    @Option(names = "--vsock", paramLabel = "CID,PATH",
            description = "A virtio-vsock device for guest CID (3 or more), Firecracker-style: a host program "
                    + "connects to the UNIX socket PATH (created by hako; it must not exist) and writes "
                    + "\"CONNECT <port>\\n\" to reach the guest's listener on that port (hako answers \"OK "
                    + "<hostport>\\n\"); the guest's connections to CID 2 port P go to the socket PATH_P, "
                    + "e.g. --vsock 3,/tmp/v.sock.")
    String vsock;

    @Option(names = "--net", paramLabel = "none|user[,hostfwd=...]|tap=NAME",
            description = "A virtio-net card, repeatable: `user` is unprivileged networking through passt (DHCP, "
                    + "DNS, outbound TCP/UDP/ICMP; the host's loopback at the gateway address), with "
                    + "hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-:GUESTPORT port forwards, as QEMU's; `tap=NAME` "
                    + "attaches to the host's TAP device NAME (created when hako may), with checksum and TSO "
                    + "offloads; mac=52:54:00:xx:xx:xx sets the address (else it is derived from the VM's name). "
                    + "Default: none (a bundle: user with its ssh port forwarded).")
    List<String> nets = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        Bundle bundle = loadBundle();
        long bytes = memory != null ? memoryBytes() : bundle != null ? bundle.memoryBytes() : MachineConfig.DEFAULT_MEMORY;
        int vcpus = cpus != null ? cpus : bundle != null ? bundle.cpus() : 1;
        Duration watchdogLimit = watchdogLimit();
        VirtioDevices virtio = VirtioDevices.NONE;
        if (rng != null) {
            try {
                virtio = virtio.withRng(SizeArgument.parse("--rng", rng));
            } catch (IllegalArgumentException e) {
                throw CommandError.usage(e.getMessage());
            }
        }
        if (balloon != null) {
            try {
                virtio = virtio.withBalloon("0".equals(balloon.trim()) ? 0 : SizeArgument.parse("--balloon", balloon));
            } catch (IllegalArgumentException e) {
                throw CommandError.usage(e.getMessage());
            }
        }
        if (vsock != null) {
            virtio = withVsock(virtio, vsock);
        }
        String vmName = bundleDirectory != null ? bundleDirectory.toAbsolutePath().normalize().toString() : "hako";
        String sshHint = null;
        if (nets.isEmpty() && bundle != null && kernel == null) {
            int port = BundleNetwork.freeLoopbackPort();
            if (PasstBackend.installed()) {
                nets = List.of("user,hostfwd=tcp:127.0.0.1:" + port + "-:22");
                sshHint = BundleNetwork.sshCommand(bundle, port);
            } else {
                System.err.println("hako: the bundle boots without a network: --net user needs passt "
                        + "(apt-get install passt)");
            }
        }
        for (String text : nets) {
            try {
                NetSpec spec = NetSpec.parse(text, vmName + "#" + virtio.nets().size());
                if (spec != null) {
                    virtio = virtio.withNet(spec);
                }
            } catch (IllegalArgumentException e) {
                throw CommandError.usage(e.getMessage());
            }
        }
        // A kernel of the user's own replaces the bundle's kernel, initrd and command line together.
        boolean bundleBoots = bundle != null && kernel == null;
        Path kernelFile = bundleBoots ? bundle.kernelFile() : kernel;
        Path initrdFile = initrd != null ? initrd : bundleBoots ? bundle.initrdFile() : null;
        String cmdline = append != null ? append : bundleBoots ? bundle.cmdline() : null;
        if (cmdline != null && cmdline.indexOf('\uFFFD') >= 0) {
            throw CommandError.usage("--append holds bytes this host's character encoding ("
                    + System.getProperty("sun.jnu.encoding") + ") cannot decode, and hako passes the command line "
                    + "unchanged or not at all: run hako in a UTF-8 locale (LC_ALL=C.UTF-8)");
        }
        if (kernelFile == null) {
            DebianPackages packages = DebianPackages.inDefaultCache();
            try {
                kernelFile = packages.debianKernel();
            } catch (IOException e) {
                throw CommandError.unavailable("cannot fetch the default guest's kernel (" + HostFile.describe(e)
                        + "); pass --kernel FILE");
            }
            if (initrdFile == null) {
                try {
                    initrdFile = DefaultGuest.cachedInitramfs(packages);
                } catch (IOException e) {
                    throw CommandError.unavailable("cannot make the default guest's initramfs ("
                            + HostFile.describe(e) + "); pass --initrd FILE");
                }
            }
            if (cmdline == null) {
                cmdline = DefaultGuest.CMDLINE;
            }
        }
        if (cmdline == null) {
            cmdline = "console=ttyS0";
        }
        List<DiskOption> diskOptions = new ArrayList<>();
        if (bundle != null) {
            diskOptions.add(new DiskOption(bundle.diskFile(), bundle.disk().format(),
                    false, "hako-disk0"));
        }
        for (String text : disks) {
            try {
                diskOptions.add(DiskOption.parse(text, diskOptions.size()));
            } catch (IllegalArgumentException e) {
                throw CommandError.usage(e.getMessage());
            }
        }
        List<Disk> opened = openDisks(diskOptions);
        MachineConfig config = new MachineConfig(kernelFile, initrdFile, cmdline, bytes, vcpus, accel, opened,
                watchdogLimit, virtio);
        Machine[] machine = new Machine[1];
        StdioConsole console = new StdioConsole(System.in, System.out, () -> machine[0].stop("quit from the console"));
        FileConsole hvcFile = null;
        try {
            if ("stdio".equals(virtioConsole)) {
                config = config.withVirtio(config.virtio().withConsole(console));
            } else if (virtioConsole != null) {
                hvcFile = openConsoleFile(virtioConsole);
                config = config.withVirtio(config.virtio().withConsole(hvcFile));
            }
            machine[0] = Machine.create(config, console, console.messages(System.err));
        } catch (KernelFormatException | UnusableFileException | IllegalArgumentException e) {
            closeAll(opened);
            throw CommandError.usage(e.getMessage());
        } catch (IOException | IllegalStateException e) {
            closeAll(opened);
            throw CommandError.unavailable("cannot set up the machine: " + (e instanceof IOException io
                    ? HostFile.describe(io) : e.getMessage()));
        }
        try (Machine m = machine[0]; console; FileConsole closedLast = hvcFile) {
            if (sshHint != null) {
                System.err.println("hako: once the system runs, log in with: " + sshHint);
            }
            console.start();
            return m.run();
        }
    }

    /** --vsock CID,PATH: a guest CID of at least 3 and a socket path whose directory exists and that is free. */
    static VirtioDevices withVsock(VirtioDevices virtio, String text) {
        int comma = text.indexOf(',');
        if (comma < 0) {
            throw CommandError.usage("--vsock " + text + ": expected CID,PATH, e.g. --vsock 3,/tmp/v.sock");
        }
        long cid;
        try {
            cid = Long.parseLong(text.substring(0, comma).trim());
        } catch (NumberFormatException e) {
            cid = -1;
        }
        if (cid < VirtioVsock.MIN_GUEST_CID || cid > VirtioVsock.MAX_GUEST_CID) {
            throw CommandError.usage("--vsock " + text + ": the guest CID must be a number from "
                    + VirtioVsock.MIN_GUEST_CID + " to " + VirtioVsock.MAX_GUEST_CID + " (0-2 are reserved)");
        }
        Path path;
        try {
            path = Path.of(text.substring(comma + 1));
        } catch (InvalidPathException e) {
            throw CommandError.usage("--vsock " + text + ": " + e.getMessage());
        }
        Path parent = path.toAbsolutePath().getParent();
        if (text.substring(comma + 1).isEmpty() || parent == null || !Files.isDirectory(parent)) {
            throw CommandError.usage("--vsock " + text + ": no directory " + parent + " for the socket");
        }
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            throw CommandError.usage("--vsock " + text + ": " + path + " exists already (hako creates the socket; "
                    + "remove a stale one first)");
        }
        return virtio.withVsock(cid, path);
    }

    /** The --memory size between the machine's limits; errors quote what the user wrote. */
    private long memoryBytes() {
        long bytes;
        try {
            bytes = SizeArgument.parse("--memory", memory);
        } catch (IllegalArgumentException e) {
            throw CommandError.usage(e.getMessage());
        }
        if (bytes < MachineConfig.MIN_MEMORY || bytes > MachineConfig.MAX_MEMORY) {
            throw CommandError.usage("--memory " + memory + ": the guest's RAM must be between "
                    + (MachineConfig.MIN_MEMORY >> 20) + "M and " + (MachineConfig.MAX_MEMORY >> 30) + "G");
        }
        return bytes;
    }

    private Bundle loadBundle() {
        if (bundleDirectory == null) {
            return null;
        }
        try {
            return Bundle.load(bundleDirectory);
        } catch (BundleFormatException e) {
            throw CommandError.usage(e.getMessage());
        }
    }

    private static FileConsole openConsoleFile(String file) {
        try {
            return new FileConsole(Path.of(file));
        } catch (IOException e) {
            throw CommandError.usage("--virtio-console " + file + ": cannot open for appending ("
                    + HostFile.describe(e) + ")");
        } catch (RuntimeException e) {
            throw CommandError.usage("--virtio-console " + file + ": " + e.getMessage());
        }
    }

    /** Opens every image (locking it as QEMU does); on a failure, closes those already open and says which. */
    private static List<Disk> openDisks(List<DiskOption> options) {
        List<Disk> opened = new ArrayList<>();
        for (DiskOption option : options) {
            try {
                opened.add(new Disk(DiskImages.open(option.path(), option.format(), option.readOnly()),
                        option.serial()));
            } catch (IOException | IllegalArgumentException e) {
                closeAll(opened);
                throw CommandError.usage("--disk: " + e.getMessage());
            }
        }
        return opened;
    }

    private static void closeAll(List<Disk> disks) {
        for (Disk disk : disks) {
            try {
                disk.backend().close();
            } catch (IOException e) {
                // the first failure is what the user is told about
            }
        }
    }

    private Duration watchdogLimit() {
        try {
            double seconds = Double.parseDouble(watchdog.trim());
            if (seconds >= 0 && seconds <= 365 * 86400) {
                return Duration.ofNanos((long) (seconds * 1e9));
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw CommandError.usage("--watchdog " + watchdog + ": a number of seconds (0 turns the watchdog off)");
    }
}
