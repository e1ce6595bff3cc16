package dev.hako.mgmt.cli;

import dev.hako.host.DiskOption;
import dev.hako.host.MachineRecipe;
import dev.hako.host.VmDefinition;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code hako vm create NAME}: defines a VM on the server with {@code hako run}'s options (the same mixin), sent
 * as a {@link VmDefinition}. Paths are made absolute, since the server resolves them, not this shell. The
 * options that tie a VM to this terminal or this host's files as hako run uses them (--virtio-console, --vsock)
 * are refused.
 */
@Command(name = "create", mixinStandardHelpOptions = true,
        description = "Define a VM on the server, with the options of hako run.")
final class VmCreateCommand implements Callable<Integer> {
    @CommandLine.ParentCommand
    VmCommand parent;

    @Parameters(index = "0", paramLabel = "NAME", description = "The VM's name: a-z, 0-9 and '-', up to 63.")
    String name;

    @Option(names = "--bundle", paramLabel = "DIR", description = "A bundle made by `hako image create`.")
    Path bundle;

    @Option(names = "--autostart", description = "Start the VM whenever the server starts.")
    boolean autostart;

    @Option(names = "--start", description = "Start the VM once it is defined.")
    boolean start;

    @Mixin
    MachineOptions options;

    @Override
    public Integer call() {
        if (options.virtioConsole != null || options.vsock != null) {
            throw CommandError.usage("--virtio-console and --vsock are for hako run; a server's VM has its serial "
                    + "console (hako vm console)");
        }
        MachineRecipe recipe = options.recipe(bundle);
        List<VmDefinition.DiskSpec> disks = new ArrayList<>();
        for (DiskOption d : recipe.disks()) {
            disks.add(new VmDefinition.DiskSpec(absolute(d.path()), d.format() == null ? null
                    : d.format().qemuName(), d.readOnly() ? true : null));
        }
        List<VmDefinition.NetDefinition> nets = new ArrayList<>();
        for (String text : recipe.nets()) {
            nets.add(net(text));
        }
        VmDefinition definition = new VmDefinition(absolute(recipe.kernel()), absolute(recipe.initrd()),
                recipe.cmdline(), absolute(recipe.bundle()),
                recipe.memoryBytes() == null ? null : (int) (recipe.memoryBytes() >> 20), recipe.cpus(),
                disks.isEmpty() ? null : disks, nets.isEmpty() ? null : nets, null, autostart ? true : null,
                recipe.accel(), recipe.watchdog().toNanos() / 1e9,
                recipe.rngBytesPerSecond() > 0 ? recipe.rngBytesPerSecond() : null,
                recipe.balloonBytes() >= 0 ? (int) (recipe.balloonBytes() >> 20) : null,
                recipe.devices().isEmpty() ? null : recipe.devices());
        try (VmClient client = new VmClient(parent.socket())) {
            var vm = client.call("PUT", "/vms/" + name, definition);
            if (start) {
                vm = client.call("POST", "/vms/" + name + "/start", null);
            }
            return parent.printVm(vm);
        }
    }

    /** One --net as the definition spells it: type, hostfwd rules, tap, mac. */
    static VmDefinition.NetDefinition net(String text) {
        String[] parts = text.split(",");
        String kind = parts[0].trim();
        String type = kind.startsWith("tap=") ? "tap" : kind;
        String tap = kind.startsWith("tap=") ? kind.substring(4) : null;
        List<String> hostfwd = new ArrayList<>();
        String mac = null;
        for (int i = 1; i < parts.length; i++) {
            String part = parts[i].trim();
            if (part.startsWith("hostfwd=")) {
                hostfwd.add(part.substring(8));
            } else if (part.startsWith("mac=")) {
                mac = part.substring(4);
            } else {
                throw CommandError.usage("--net " + text + ": '" + part + "' is not hostfwd= or mac=");
            }
        }
        return new VmDefinition.NetDefinition(type, hostfwd.isEmpty() ? null : hostfwd, tap, mac);
    }

    private static String absolute(Path path) {
        return path == null ? null : path.toAbsolutePath().normalize().toString();
    }
}
