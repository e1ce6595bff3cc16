package dev.hako.mgmt.cli;

import dev.hako.vmm.boot.KernelFormatException;
import dev.hako.vmm.host.FileConsole;
import dev.hako.vmm.host.StdioConsole;
import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import dev.hako.vmm.machine.Machine;
import dev.hako.vmm.machine.MachineConfig;
import dev.hako.vmm.machine.VirtioDevices;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code hako run}: boots a Linux kernel in a virtual machine. With no --kernel it boots the default guest:
 * Debian's cloud kernel and a busybox initramfs hako builds itself, fetched on first use with apt.
 */
@Command(name = "run", description = "Boot a Linux kernel in a virtual machine (the default guest without --kernel).")
final class RunCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--kernel", paramLabel = "FILE", description = "bzImage or PVH vmlinux to boot.")
    Path kernel;

    @Option(names = "--initrd", paramLabel = "FILE", description = "Initial ramdisk (cpio, optionally compressed).")
    Path initrd;

    @Option(names = "--append", paramLabel = "CMDLINE", description = "Kernel command line.")
    String append;

    @Option(names = "--memory", paramLabel = "SIZE", defaultValue = "512M",
            description = "Guest RAM, e.g. 512M or 1G (default: ${DEFAULT-VALUE}).")
    String memory;

    @Option(names = "--cpus", paramLabel = "N", defaultValue = "1", description = "vCPUs (default: ${DEFAULT-VALUE}).")
    int cpus;

    @Option(names = "--accel", paramLabel = "soft|kvm|auto", defaultValue = "auto",
            description = "CPU accelerator: hako's soft CPU, the host's KVM, or KVM where it can run the guest "
                    + "and soft otherwise (default: ${DEFAULT-VALUE}).")
    String accel;

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

    @Override
    public Integer call() throws Exception {
        long bytes;
        VirtioDevices virtio = VirtioDevices.NONE;
        try {
            bytes = SizeArgument.parse("--memory", memory);
            if (rng != null) {
                virtio = virtio.withRng(SizeArgument.parse("--rng", rng));
            }
            if (balloon != null) {
                virtio = virtio.withBalloon("0".equals(balloon.trim()) ? 0 : SizeArgument.parse("--balloon", balloon));
            }
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        Path kernelFile = kernel;
        Path initrdFile = initrd;
        String cmdline = append;
        if (kernelFile == null) {
            DebianPackages packages = DebianPackages.inDefaultCache();
            try {
                kernelFile = packages.debianKernel();
                if (initrdFile == null) {
                    initrdFile = packages.directory().resolve("hako-default-initramfs.cpio");
                    Files.write(initrdFile, DefaultGuest.initramfs(packages));
                }
            } catch (IOException e) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "cannot fetch the default guest (" + e.getMessage() + "); pass --kernel FILE");
            }
            if (cmdline == null) {
                cmdline = DefaultGuest.CMDLINE;
            }
        }
        if (cmdline == null) {
            cmdline = "console=ttyS0";
        }
        requireFile(kernelFile, "--kernel");
        if (initrdFile != null) {
            requireFile(initrdFile, "--initrd");
        }
        MachineConfig config = new MachineConfig(kernelFile, initrdFile, cmdline, bytes, cpus, accel)
                .withVirtio(virtio);
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
        } catch (KernelFormatException | IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        try (Machine m = machine[0]; console; FileConsole closedLast = hvcFile) {
            console.start();
            return m.run();
        }
    }

    private FileConsole openConsoleFile(String file) {
        try {
            return new FileConsole(Path.of(file));
        } catch (IOException | RuntimeException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--virtio-console " + file
                    + ": cannot open for appending (" + e.getMessage() + ")");
        }
    }

    private void requireFile(Path file, String option) {
        if (!Files.isRegularFile(file)) {
            throw new CommandLine.ParameterException(spec.commandLine(), option + " " + file + ": no such file");
        }
    }
}
