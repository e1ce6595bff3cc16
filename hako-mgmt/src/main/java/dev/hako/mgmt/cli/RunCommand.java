package dev.hako.mgmt.cli;

import dev.hako.vmm.boot.KernelFormatException;
import dev.hako.vmm.host.StdioConsole;
import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import dev.hako.vmm.image.Bundle;
import dev.hako.vmm.image.BundleFormatException;
import dev.hako.vmm.image.disk.DiskFormat;
import dev.hako.vmm.image.disk.DiskImages;
import dev.hako.vmm.machine.Disk;
import dev.hako.vmm.machine.Machine;
import dev.hako.vmm.machine.MachineConfig;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code hako run}: boots a Linux kernel in a virtual machine. With no --kernel it boots the default guest:
 * Debian's cloud kernel and a busybox initramfs hako builds itself, fetched on first use with apt.
 */
@Command(name = "run", description = "Boot a Linux kernel in a virtual machine (the default guest without --kernel).")
final class RunCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "BUNDLE",
            description = "A bundle directory made by `hako image create`: boots its kernel, initrd and disk with its "
                    + "command line, memory and vCPUs; options given as well override them, --disk adds disks.")
    Path bundleDirectory;

    @Option(names = "--disk", paramLabel = "PATH[,format=raw|qcow2][,readonly=on][,serial=TEXT]",
            description = {"A virtio-blk disk (repeatable: the first is /dev/vda, then vdb, ...). The format is "
                    + "detected from the image when not given; readonly=on makes the guest's writes fail.",
                    "  e.g. --disk debian.qcow2 --disk data.raw,format=raw,readonly=on"})
    List<String> disks = new ArrayList<>();

    @Option(names = "--kernel", paramLabel = "FILE", description = "bzImage or PVH vmlinux to boot.")
    Path kernel;

    @Option(names = "--initrd", paramLabel = "FILE", description = "Initial ramdisk (cpio, optionally compressed).")
    Path initrd;

    @Option(names = "--append", paramLabel = "CMDLINE", description = "Kernel command line.")
    String append;

    @Option(names = "--memory", paramLabel = "SIZE",
            description = "Guest RAM, e.g. 512M or 1G (default: the bundle's, else 512M).")
    String memory;

    @Option(names = "--cpus", paramLabel = "N", description = "vCPUs (default: the bundle's, else 1).")
    Integer cpus;

    @Option(names = "--accel", paramLabel = "soft|kvm|auto", defaultValue = "auto",
            description = "CPU accelerator: hako's soft CPU, the host's KVM, or KVM where it can run the guest "
                    + "and soft otherwise (default: ${DEFAULT-VALUE}).")
    String accel;

    @Override
    public Integer call() throws Exception {
        Bundle bundle = loadBundle();
        long bytes = memory != null ? parseMemory() : bundle != null ? bundle.memoryBytes() : MachineConfig.DEFAULT_MEMORY;
        int vcpus = cpus != null ? cpus : bundle != null ? bundle.cpus() : 1;
        Path kernelFile = kernel != null ? kernel : bundle != null ? bundle.kernelFile() : null;
        Path initrdFile = initrd != null ? initrd : bundle != null && kernel == null ? bundle.initrdFile() : null;
        String cmdline = append != null ? append : bundle != null && kernel == null ? bundle.cmdline() : null;
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
        List<DiskOption> diskOptions = new ArrayList<>();
        if (bundle != null) {
            diskOptions.add(new DiskOption(bundle.diskFile(), DiskFormat.named(bundle.disk().format().jsonName()),
                    false, "hako-disk0"));
        }
        for (String text : disks) {
            try {
                diskOptions.add(DiskOption.parse(text, diskOptions.size()));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
        }
        List<Disk> opened = openDisks(diskOptions);
        MachineConfig config = new MachineConfig(kernelFile, initrdFile, cmdline, bytes, vcpus, accel, opened);
        Machine[] machine = new Machine[1];
        StdioConsole console = new StdioConsole(System.in, System.out, () -> machine[0].stop("quit from the console"));
        try {
            machine[0] = Machine.create(config, console, console.messages(System.err));
        } catch (KernelFormatException | IllegalArgumentException e) {
            closeAll(opened);
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        try (Machine m = machine[0]; console) {
            console.start();
            return m.run();
        }
    }

    private Bundle loadBundle() {
        if (bundleDirectory == null) {
            return null;
        }
        try {
            return Bundle.load(bundleDirectory);
        } catch (BundleFormatException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    private long parseMemory() {
        try {
            return SizeArgument.parse("--memory", memory);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /** Opens every image (locking it as QEMU does); on a failure, closes those already open and says which. */
    private List<Disk> openDisks(List<DiskOption> options) {
        List<Disk> opened = new ArrayList<>();
        for (DiskOption option : options) {
            try {
                opened.add(new Disk(DiskImages.open(option.path(), option.format(), option.readOnly()),
                        option.serial()));
            } catch (IOException | IllegalArgumentException e) {
                closeAll(opened);
                throw new CommandLine.ParameterException(spec.commandLine(), "--disk: " + e.getMessage());
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

    private void requireFile(Path file, String option) {
        if (!Files.isRegularFile(file)) {
            throw new CommandLine.ParameterException(spec.commandLine(), option + " " + file + ": no such file");
        }
    }
}
