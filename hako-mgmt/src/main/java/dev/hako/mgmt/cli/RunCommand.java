package dev.hako.mgmt.cli;

import dev.hako.vmm.boot.KernelFormatException;
import dev.hako.vmm.host.HostFile;
import dev.hako.vmm.host.StdioConsole;
import dev.hako.vmm.host.UnusableFileException;
import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import dev.hako.vmm.machine.Machine;
import dev.hako.vmm.machine.MachineConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code hako run}: boots a Linux kernel in a virtual machine. With no --kernel it boots the default guest:
 * Debian's cloud kernel and a busybox initramfs hako builds itself, fetched on first use with apt.
 */
@Command(name = "run", mixinStandardHelpOptions = true, description = "Boot a Linux kernel in a virtual machine (the default guest without --kernel).",
        footerHeading = "%nConsole:%n",
        footer = {"The guest's first serial port is on standard input and output. On a terminal, Ctrl-A X ends the "
                + "VM. When standard input is not a terminal (a pipe, a file), its bytes wait until the guest reads "
                + "them, and its end is sent to the guest as one Ctrl-D, the terminal's end of file: the default "
                + "guest's shell then exits and the machine powers off, so `printf 'uname -a\\n' | hako run` ends "
                + "by itself."},
        exitCodeListHeading = "%nExit status:%n")
final class RunCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--kernel", paramLabel = "FILE", description = "bzImage or PVH vmlinux to boot.")
    Path kernel;

    @Option(names = "--initrd", paramLabel = "FILE", description = "Initial ramdisk (cpio, optionally compressed).")
    Path initrd;

    @Option(names = "--append", paramLabel = "CMDLINE",
            description = "Kernel command line (passed to the guest as UTF-8 bytes).")
    String append;

    @Option(names = "--memory", paramLabel = "SIZE", defaultValue = "512M",
            description = "Guest RAM, 16M to 3G, e.g. 512M or 1G (default: ${DEFAULT-VALUE}).")
    String memory;

    @Option(names = "--cpus", paramLabel = "N", defaultValue = "1", description = "vCPUs (default: ${DEFAULT-VALUE}).")
    int cpus;

    @Option(names = "--accel", paramLabel = "soft|kvm|auto", defaultValue = "auto",
            description = "CPU accelerator: hako's soft CPU, the host's KVM, or KVM where it can run the guest "
                    + "and soft otherwise (default: ${DEFAULT-VALUE}).")
    String accel;

    @Option(names = "--watchdog", paramLabel = "SECONDS", defaultValue = MachineConfig.DEFAULT_WATCHDOG_SECONDS,
            description = "End the VM (status 3) when a vCPU spends this much CPU time with interrupts off and "
                    + "neither halts nor touches a device; 0 turns the watchdog off (default: ${DEFAULT-VALUE}).")
    String watchdog;

    @Override
    public Integer call() throws Exception {
        long bytes = memoryBytes();
        Duration watchdogLimit = watchdogLimit();
        Path kernelFile = kernel;
        Path initrdFile = initrd;
        String cmdline = append;
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
        MachineConfig config = new MachineConfig(kernelFile, initrdFile, cmdline, bytes, cpus, accel, watchdogLimit);
        Machine[] machine = new Machine[1];
        StdioConsole console = new StdioConsole(System.in, System.out, () -> machine[0].stop("quit from the console"));
        try {
            machine[0] = Machine.create(config, console, console.messages(System.err));
        } catch (KernelFormatException | UnusableFileException | IllegalArgumentException e) {
            throw CommandError.usage(e.getMessage());
        } catch (IOException | IllegalStateException e) {
            throw CommandError.unavailable("cannot set up the machine: " + (e instanceof IOException io
                    ? HostFile.describe(io) : e.getMessage()));
        }
        try (Machine m = machine[0]; console) {
            console.start();
            return m.run();
        }
    }

    /** "512M", "1G", "65536K" or plain bytes, between the machine's limits; errors quote what the user wrote. */
    private long memoryBytes() {
        String t = memory.trim().toUpperCase(Locale.ROOT);
        long unit = 1;
        char last = t.isEmpty() ? ' ' : t.charAt(t.length() - 1);
        switch (last) {
            case 'K' -> unit = 1L << 10;
            case 'M' -> unit = 1L << 20;
            case 'G' -> unit = 1L << 30;
            default -> { }
        }
        String digits = unit == 1 ? t : t.substring(0, t.length() - 1);
        long bytes;
        try {
            bytes = Math.multiplyExact(Long.parseLong(digits), unit);
        } catch (NumberFormatException | ArithmeticException e) {
            throw CommandError.usage("--memory " + memory + ": not a size like 512M or 1G");
        }
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
