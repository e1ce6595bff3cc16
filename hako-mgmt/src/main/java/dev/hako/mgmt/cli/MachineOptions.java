package dev.hako.mgmt.cli;

import dev.hako.devices.virtio.vsock.VirtioVsock;
import dev.hako.host.DiskOption;
import dev.hako.host.MachineRecipe;
import dev.hako.vmm.machine.MachineConfig;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The options that say what a VM is (kernel, disks, memory, devices, network), shared as a picocli mixin by
 * {@code hako run} and {@code hako vm create}; {@link #recipe} checks what the user wrote and turns it into a
 * {@link MachineRecipe}. Errors quote the option as the user wrote it.
 */
final class MachineOptions {
    @Option(names = "--disk", paramLabel = "PATH[,format=raw|qcow2][,readonly=on][,serial=TEXT]",
            description = "A virtio-blk disk, repeatable: the first is /dev/vda, then vdb, ... The format is "
                    + "detected from the image when not given; readonly=on makes the guest's writes fail; the "
                    + "image is locked as QEMU locks it, so two VMs cannot write one image.")
    List<String> disks = new ArrayList<>();

    @Option(names = "--kernel", paramLabel = "FILE",
            description = "Kernel to boot: a bzImage, a PVH vmlinux, or a Multiboot kernel (a 32-bit ELF, or an image "
                    + "with the header's address fields).")
    Path kernel;

    @Option(names = "--initrd", paramLabel = "FILE",
            description = "Initial ramdisk (cpio, optionally compressed); for a Multiboot kernel its modules, as "
                    + "QEMU's -initrd: FILE[ ARGS][,FILE[ ARGS]...] (,, for a comma in a name), each module's "
                    + "string being its whole item.")
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

    @Option(names = "--device", paramLabel = "isa-debug-exit[,...]|isa-debugcon[,...]",
            description = "One of QEMU's test devices, repeatable: isa-debug-exit[,iobase=0x501][,iosize=2] ends the "
                    + "VM when the guest writes V to its ports, with exit status (V << 1) | 1 (e.g. "
                    + "iobase=0xf4,iosize=4); isa-debugcon[,iobase=0xe9][,chardev=stdout|FILE] sends the bytes "
                    + "the guest writes to its port to the serial console's standard output or appends them to FILE.")
    List<String> devices = new ArrayList<>();

    /** These options as picocli describes them, in the order they are declared. */
    @Spec
    CommandSpec spec;

    /**
     * The first option given that describes the machine (for {@code --restore}, which takes none), or null. An
     * option left at its default (none, an empty list, or its default value) describes nothing.
     */
    String firstGiven() {
        for (OptionSpec option : spec.options()) {
            Object value = option.getValue();
            boolean given = value instanceof List<?> list ? !list.isEmpty()
                    : value != null && !String.valueOf(value).equals(option.defaultValue());
            if (given) {
                return option.longestName();
            }
        }
        return null;
    }

    /** The recipe these options describe, for {@code bundle} (null: none); a mistake is a usage error. */
    MachineRecipe recipe(Path bundle) {
        List<DiskOption> diskOptions = new ArrayList<>();
        int first = bundle != null ? 1 : 0;
        for (String text : disks) {
            try {
                diskOptions.add(DiskOption.parse(text, first + diskOptions.size()));
            } catch (IllegalArgumentException e) {
                throw CommandError.usage(e.getMessage());
            }
        }
        long cid = 0;
        Path vsockPath = null;
        if (vsock != null) {
            cid = vsockCid(vsock);
            vsockPath = vsockPath(vsock);
        }
        return new MachineRecipe(bundle, kernel, initrd, append, memory != null ? memoryBytes() : null, cpus, accel,
                watchdogLimit(), rng != null ? size("--rng", rng) : 0,
                balloon == null ? -1 : "0".equals(balloon.trim()) ? 0 : size("--balloon", balloon), cid, vsockPath,
                nets, diskOptions, devices);
    }

    private static long size(String option, String text) {
        try {
            return SizeArgument.parse(option, text);
        } catch (IllegalArgumentException e) {
            throw CommandError.usage(e.getMessage());
        }
    }

    /** --vsock CID,PATH: the guest CID, at least 3. */
    private static long vsockCid(String text) {
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
        return cid;
    }

    /** --vsock CID,PATH: a socket path whose directory exists and that is free. */
    private static Path vsockPath(String text) {
        int comma = text.indexOf(',');
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
        return path;
    }

    /** The --memory size between the machine's limits; errors quote what the user wrote. */
    private long memoryBytes() {
        long bytes = size("--memory", memory);
        if (bytes < MachineConfig.MIN_MEMORY || bytes > MachineConfig.MAX_MEMORY) {
            throw CommandError.usage("--memory " + memory + ": the guest's RAM must be between "
                    + (MachineConfig.MIN_MEMORY >> 20) + "M and " + (MachineConfig.MAX_MEMORY >> 30) + "G");
        }
        return bytes;
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
