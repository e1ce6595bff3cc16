package dev.hako.mgmt.cli;

import dev.hako.host.MachineRecipe;
import dev.hako.host.HostException;
import dev.hako.vmm.boot.KernelFormatException;
import dev.hako.vmm.debug.GdbStub;
import dev.hako.vmm.host.FileConsole;
import dev.hako.vmm.host.HostFile;
import dev.hako.vmm.host.StdioConsole;
import dev.hako.vmm.host.UnusableFileException;
import dev.hako.vmm.image.Bundle;
import dev.hako.vmm.image.BundleFormatException;
import dev.hako.vmm.machine.Disk;
import dev.hako.vmm.machine.Machine;
import dev.hako.vmm.machine.MachineConfig;
import dev.hako.vmm.snapshot.MachineSnapshots;
import dev.hako.vmm.snapshot.MigrationException;
import dev.hako.vmm.snapshot.MigrationTarget;
import dev.hako.vmm.snapshot.SnapshotException;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code hako run}: boots a Linux kernel in a virtual machine. Given a bundle directory (made by {@code hako image
 * create}) it boots the bundle's kernel, initrd and disk; with no --kernel it boots the default guest: Debian's
 * cloud kernel and a busybox initramfs hako builds itself, fetched on first use with apt.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Boot a Linux kernel in a virtual machine: a bundle made by `hako image create`, a kernel of "
                + "your own (Linux or Multiboot), or the default guest (a busybox shell) when given neither.",
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
                "  hako run --restore ~/snaps/web             resume a snapshot taken by `hako vm snapshot`",
                "  hako run --incoming tcp:0.0.0.0:4444       receive a VM that `hako vm migrate NAME --to HOST:4444` "
                        + "moves here",
                "  hako run --kernel mb.elf --initrd 'mod1 args,mod2' --device isa-debugcon \\",
                "           --device isa-debug-exit,iobase=0xf4,iosize=4   a Multiboot kernel with QEMU's test devices",
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

    @Option(names = "--restore", paramLabel = "DIR",
            description = "Resume the machine saved in the snapshot directory DIR (`hako vm snapshot`): its RAM "
                    + "mapped from DIR's memory file copy-on-write, its disks reopened by path, its serial console on "
                    + "this terminal. Takes no other option: the snapshot says what the machine is. "
                    + "HAKO_DEBUG=1 prints the restore time to the first guest instruction.")
    Path restore;

    @Option(names = "--overlay", negatable = true,
            description = "With --restore: --overlay puts every writable disk on a new qcow2 overlay beside its "
                    + "image (disk.SNAPSHOT-restore-N), so the snapshot's images are only read; --no-overlay writes "
                    + "them in place, refused for disks the snapshot froze (`hako vm snapshot --overlay`), which "
                    + "always go on new overlays.")
    Boolean restoreOverlay;

    @Option(names = "--incoming", paramLabel = "tcp:HOST:PORT",
            description = "Wait on HOST:PORT for a live migration (`hako vm migrate NAME --to HOST:PORT`, as QEMU's "
                    + "-incoming): the machine is built from what the source sends, its serial console on this "
                    + "terminal, and runs here once its RAM, state and disks are loaded and the source gives the "
                    + "go-ahead. Takes no other option. Port 0 picks a free port; the port is printed. A failure "
                    + "before the go-ahead (also none within 10 s) ends with status 74 and leaves the guest on the "
                    + "source.")
    String incoming;

    @Option(names = "--gdb", paramLabel = "tcp:HOST:PORT",
            description = "Serve GDB's remote protocol on HOST:PORT (soft CPU; --accel auto then means soft): "
                    + "`target remote HOST:PORT` in gdb, with the kernel's vmlinux for symbols.")
    String gdb;

    @Option(names = "--gdb-wait", description = "With --gdb: no vCPU runs until gdb continues (as QEMU's -S).")
    boolean gdbWait;

    @Option(names = "--deterministic",
            description = "Run deterministically on the soft CPU (one vCPU): guest time counts retired instructions, "
                    + "timers fire at the same instruction in every run, the wall clock starts at 2025-01-01 "
                    + "00:00:00 UTC, piped standard input is not read, and the retired-instruction count is printed "
                    + "at the end: two runs of the same guest with the same disks give the same console output. "
                    + "Typing, network and vsock traffic are not recorded (a run using them is not reproduced); "
                    + "--rng, --cpus above 1 and --accel kvm are refused; no watchdog.")
    boolean deterministic;

    @Mixin
    MachineOptions options;

    @Override
    public Integer call() throws Exception {
        if (restore != null && incoming != null) {
            throw CommandError.usage("--restore and --incoming are two ways to get a machine: give one");
        }
        if (deterministic && (restore != null || incoming != null)) {
            throw CommandError.usage("--deterministic boots a guest; it cannot resume one (--restore, --incoming)");
        }
        if (restoreOverlay != null && restore == null) {
            throw CommandError.usage("--overlay and --no-overlay say how --restore opens the snapshot's disks: give "
                    + "--restore DIR");
        }
        if (restore != null) {
            return restore();
        }
        if (incoming != null) {
            return incoming();
        }
        InetSocketAddress gdbAddress = gdbAddress();
        if (deterministic) {
            requireSoftCpu("--deterministic", "KVM runs the guest on the host's time");
        }
        String vmName = bundleDirectory != null ? bundleDirectory.toAbsolutePath().normalize().toString() : "hako";
        MachineRecipe recipe = options.recipe(bundleDirectory);
        Machine[] machine = new Machine[1];
        StdioConsole console = new StdioConsole(System.in, System.out, () -> machine[0].stop("quit from the console"));
        FileConsole hvcFile = null;
        String virtioConsole = options.virtioConsole;
        if (virtioConsole != null && !"stdio".equals(virtioConsole)) {
            hvcFile = openConsoleFile(virtioConsole);
        }
        MachineRecipe.Prepared prepared;
        try {
            prepared = recipe.prepare(vmName, "stdio".equals(virtioConsole) ? console : hvcFile, System.err);
        } catch (HostException e) {
            closeQuietly(hvcFile);
            throw e.kind() == HostException.Kind.UNAVAILABLE ? CommandError.unavailable(e.getMessage()) : CommandError.usage(e.getMessage());
        }
        MachineConfig config = prepared.config().withDeterministic(deterministic);
        if (deterministic) {
            console.ignorePipedInput();
        }
        try {
            machine[0] = Machine.create(config, console, console.messages(System.err));
        } catch (KernelFormatException | UnusableFileException | IllegalArgumentException e) {
            Disk.closeAll(config.disks());
            closeQuietly(hvcFile);
            throw CommandError.usage(e.getMessage());
        } catch (IOException | IllegalStateException e) {
            Disk.closeAll(config.disks());
            closeQuietly(hvcFile);
            throw CommandError.unavailable("cannot set up the machine: " + (e instanceof IOException io
                    ? HostFile.describe(io) : e.getMessage()));
        }
        try (OrderlyEnd end = new OrderlyEnd(machine[0], console.messages(System.err)); Machine m = machine[0];
                console; FileConsole closedLast = hvcFile) {
            if (prepared.sshPort() != 0) {
                System.err.println("hako: once the system runs, log in with: "
                        + BundleNetwork.sshCommand(loadBundle(), prepared.sshPort()));
            }
            console.start();
            int status = gdbAddress == null ? m.run() : runUnderGdb(m, gdbAddress);
            if (deterministic) {
                // What two runs of the same guest compare, besides their output.
                System.err.println("hako: " + m.statistics().vcpus().getFirst().instructions()
                        + " instructions retired (deterministic run)");
            }
            return status;
        }
    }

    /** {@code option} needs the soft CPU: {@code --accel auto} becomes soft, {@code --accel kvm} is refused. */
    private void requireSoftCpu(String option, String why) {
        if ("kvm".equals(options.accel)) {
            throw CommandError.usage(option + " needs the soft CPU: " + why);
        }
        options.accel = "soft";
    }

    /** tcp:HOST:PORT (or HOST:PORT, :PORT, PORT) as an address; null without --gdb. */
    private InetSocketAddress gdbAddress() {
        if (gdb == null) {
            if (gdbWait) {
                throw CommandError.usage("--gdb-wait needs --gdb tcp:HOST:PORT");
            }
            return null;
        }
        requireSoftCpu("--gdb", "KVM's guest debugging is not supported yet");
        String spec = gdb.startsWith("tcp:") ? gdb.substring(4) : gdb;
        int colon = spec.lastIndexOf(':');
        String host = colon > 0 ? spec.substring(0, colon) : "127.0.0.1";
        try {
            int port = Integer.parseInt(spec.substring(colon + 1));
            if (port < 0 || port > 65535) {
                throw new NumberFormatException();
            }
            return new InetSocketAddress(host, port);
        } catch (NumberFormatException e) {
            throw CommandError.usage("--gdb wants tcp:HOST:PORT, not " + gdb);
        }
    }

    private int runUnderGdb(Machine m, InetSocketAddress address) throws InterruptedException {
        try (GdbStub stub = new GdbStub(m, address, System.err)) {
            System.err.println("hako: gdb stub listening on " + address.getHostString() + ":" + stub.port());
            stub.start();
            if (gdbWait) {
                m.startPaused();
            } else {
                m.start();
            }
            return m.awaitExit(Long.MAX_VALUE, TimeUnit.NANOSECONDS);
        } catch (IOException e) {
            throw CommandError.unavailable("cannot listen for gdb on " + address + ": " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw CommandError.usage(e.getMessage());
        }
    }

    private int restore() throws InterruptedException {
        long begin = System.nanoTime();
        String other = bundleDirectory != null ? "a BUNDLE" : options.firstGiven();
        if (other != null) {
            throw CommandError.usage("--restore takes the machine from the snapshot; it cannot be given " + other);
        }
        Machine[] machine = new Machine[1];
        StdioConsole console = new StdioConsole(System.in, System.out, () -> machine[0].stop("quit from the console"));
        PrintStream messages = console.messages(System.err);
        try {
            machine[0] = MachineSnapshots.restore(restore, console, messages, null,
                    MachineSnapshots.DiskRestore.of(restoreOverlay));
        } catch (SnapshotException e) {
            throw CommandError.usage("cannot restore: " + e.getMessage());
        } catch (IOException e) {
            throw new CommandError(ExitStatus.IO_ERROR, "cannot restore " + restore + ": " + HostFile.describe(e));
        } catch (IllegalStateException e) {
            throw CommandError.unavailable("cannot restore " + restore + ": " + e.getMessage());
        }
        long built = System.nanoTime();
        try (OrderlyEnd end = new OrderlyEnd(machine[0], messages); Machine m = machine[0]; console) {
            console.start();
            m.start();
            if (System.getenv("HAKO_DEBUG") != null) {
                Thread.ofPlatform().daemon().start(() -> reportRestoreTime(m, begin, built, messages));
            }
            return m.awaitExit(Long.MAX_VALUE, TimeUnit.NANOSECONDS);
        }
    }

    private int incoming() throws InterruptedException {
        String other = bundleDirectory != null ? "a BUNDLE" : options.firstGiven();
        if (other != null) {
            throw CommandError.usage("--incoming takes the machine from the migration; it cannot be given " + other);
        }
        InetSocketAddress address = incomingAddress(incoming);
        Machine[] machine = new Machine[1];
        StdioConsole console = new StdioConsole(System.in, System.out, () -> machine[0].stop("quit from the console"));
        PrintStream messages = console.messages(System.err);
        MigrationTarget target;
        try (ServerSocket listener = new ServerSocket()) {
            listener.setReuseAddress(true);
            listener.bind(address, 1);
            messages.printf("hako: waiting for a migration on %s:%d%n", address.getHostString(),
                    listener.getLocalPort());
            target = MigrationTarget.accept(listener, console, messages);
        } catch (IOException e) {
            throw CommandError.unavailable("--incoming " + incoming + ": cannot listen: " + e.getMessage());
        } catch (MigrationException e) {
            throw new CommandError(ExitStatus.IO_ERROR, e.getMessage());
        }
        machine[0] = target.machine();
        try (OrderlyEnd end = new OrderlyEnd(machine[0], messages); target; Machine m = machine[0]; console) {
            console.start();
            try {
                target.resume();
            } catch (MigrationException e) {
                throw new CommandError(ExitStatus.IO_ERROR, e.getMessage());
            }
            messages.println("hako: the migrated guest runs here");
            return m.awaitExit(Long.MAX_VALUE, TimeUnit.NANOSECONDS);
        }
    }

    /** "tcp:HOST:PORT" ("tcp:[::1]:PORT" for IPv6) as an address to listen on. */
    private static InetSocketAddress incomingAddress(String text) {
        String usage = "--incoming " + text + ": expected tcp:HOST:PORT, e.g. tcp:0.0.0.0:4444";
        int colon = text.lastIndexOf(':');
        if (!text.startsWith("tcp:") || colon <= 4) {
            throw CommandError.usage(usage);
        }
        String host = text.substring(4, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw CommandError.usage(usage);
        }
        if (port < 0 || port > 65535 || host.isEmpty()) {
            throw CommandError.usage(usage);
        }
        InetSocketAddress address = new InetSocketAddress(host, port);
        if (address.isUnresolved()) {
            throw CommandError.usage("--incoming " + text + ": no such host " + host);
        }
        return address;
    }

    /** Waits for the first guest instruction and says how long the restore took to reach it. */
    private void reportRestoreTime(Machine m, long begin, long built, PrintStream messages) {
        long first = m.awaitFirstGuestEntry(10, TimeUnit.SECONDS);
        if (first != 0) {
            messages.printf("hako: restored %s in %.1f ms to the first guest instruction (%.1f ms reading, "
                    + "building and restoring the machine, this JVM's first)%n", restore, (first - begin) / 1e6,
                    (built - begin) / 1e6);
        }
    }

    private Bundle loadBundle() {
        try {
            return Bundle.load(bundleDirectory);
        } catch (BundleFormatException e) {
            throw CommandError.usage(e.getMessage());
        }
    }

    private static void closeQuietly(FileConsole file) {
        if (file != null) {
            try {
                file.close();
            } catch (IOException e) {
                // the first failure is what the user is told about
            }
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
}
