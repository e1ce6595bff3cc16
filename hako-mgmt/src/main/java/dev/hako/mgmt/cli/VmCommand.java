package dev.hako.mgmt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code hako vm}: the client of {@code hako serve}. Each subcommand is one API request; the answer is a table
 * (or lines) for people, or the server's JSON with {@code --json}. The exit status tells failures apart
 * ({@link ExitStatus#VM}).
 */
@Command(name = "vm", mixinStandardHelpOptions = true,
        description = "Drive the VMs of a hako server (hako serve) over its UNIX socket.",
        subcommands = {VmCreateCommand.class, VmConsoleCommand.class},
        exitCodeListHeading = "%nExit status:%n")
final class VmCommand implements Runnable {
    @Option(names = "--socket", paramLabel = "PATH", scope = CommandLine.ScopeType.INHERIT,
            description = "The server's socket (default: $XDG_RUNTIME_DIR/hako.sock, else STATE/hako.sock).")
    Path socket;

    @Option(names = "--json", scope = CommandLine.ScopeType.INHERIT,
            description = "Print the server's JSON answer instead of a table.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "say what to do: hako vm create|list|show|"
                + "start|pause|resume|snapshot|restore|migrate|shutdown|reset|stop|delete|set-cpu|set-memory|console");
    }

    Path socket() {
        return socket != null ? socket : ServeCommand.defaultSocket(ServeCommand.defaultState());
    }

    @Command(name = "list", description = "All VMs: name, state, vCPUs, memory, CPU used, entitlement.")
    int list() {
        try (VmClient client = new VmClient(socket())) {
            JsonNode vms = client.call("GET", "/vms", null);
            if (json) {
                return printJson(vms);
            }
            PrintWriter out = spec.commandLine().getOut();
            String format = "%-20s %-8s %5s %8s %11s %11s%n";
            out.printf(format, "NAME", "STATE", "VCPUS", "MEMORY", "CPU-SECONDS", "ENTITLEMENT");
            for (JsonNode vm : vms) {
                JsonNode config = vm.path("config");
                out.printf(format, vm.path("name").asText(), vm.path("state").asText(),
                        config.path("vcpus").asInt(1), config.path("memory_mib").asInt(512) + "M",
                        String.format(Locale.ROOT, "%.2f", vm.path("usage").path("cpu_seconds").asDouble()),
                        String.format(Locale.ROOT, "%.2f", config.path("cpu").path("entitlement").asDouble(1.0)));
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "show", description = "One VM: its config, state and the resources it used.")
    int show(@Parameters(paramLabel = "NAME") String name) {
        try (VmClient client = new VmClient(socket())) {
            JsonNode vm = client.call("GET", "/vms/" + name, null);
            if (json) {
                return printJson(vm);
            }
            PrintWriter out = spec.commandLine().getOut();
            out.printf("name:   %s%nstate:  %s%n", vm.path("name").asText(), vm.path("state").asText());
            if (vm.hasNonNull("exit_reason")) {
                out.printf("ended:  status %d, %s%n", vm.path("exit_status").asInt(),
                        vm.path("exit_reason").asText().lines().findFirst().orElse(""));
            }
            if (vm.hasNonNull("paused_reason")) {
                out.printf("paused: %s%n", vm.path("paused_reason").asText());
            }
            out.printf("config: %s%n", vm.path("config"));
            if (vm.has("usage")) {
                out.printf("usage:  %s%n", vm.path("usage"));
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "start", description = "Start the VM.")
    int start(@Parameters(paramLabel = "NAME") String name) {
        return action(name, "start");
    }

    @Command(name = "pause", description = "Stop its vCPUs and freeze its guest time.")
    int pause(@Parameters(paramLabel = "NAME") String name) {
        return action(name, "pause");
    }

    @Command(name = "resume", description = "Let a paused VM run again (after a migration of unknown outcome: its "
            + "disks opened again, refused while another process holds them).")
    int resume(@Parameters(paramLabel = "NAME") String name) {
        return action(name, "resume");
    }

    @Command(name = "shutdown", description = "Press the VM's ACPI power button (the guest decides what to do).")
    int shutdown(@Parameters(paramLabel = "NAME") String name) {
        return action(name, "shutdown");
    }

    @Command(name = "reset", description = "Stop the VM and start it again from its config.")
    int reset(@Parameters(paramLabel = "NAME") String name) {
        return action(name, "reset");
    }

    @Command(name = "stop", description = "End the VM at once.")
    int stop(@Parameters(paramLabel = "NAME") String name) {
        return action(name, "stop");
    }

    @Command(name = "delete", description = "Remove a VM that does not run, and its definition.")
    int delete(@Parameters(paramLabel = "NAME") String name) {
        try (VmClient client = new VmClient(socket())) {
            client.call("DELETE", "/vms/" + name, null);
            return 0;
        }
    }

    @Command(name = "set-cpu", description = "Change the VM's CPU entitlement, live.")
    int setCpu(@Parameters(paramLabel = "NAME") String name,
            @Option(names = "--entitlement", paramLabel = "CORES",
                    description = "Cores in steps of 0.01, 0.05 to 1.0 per vCPU, e.g. 0.35.") Double entitlement,
            @Option(names = "--capped", description = "Never more than the entitlement.") boolean capped,
            @Option(names = "--uncapped", description = "May use idle capacity, shared by weight.") boolean uncapped,
            @Option(names = "--weight", paramLabel = "N", description = "Share of idle capacity, 0-255.")
            Integer weight) {
        Map<String, Object> body = new LinkedHashMap<>();
        if (entitlement != null) {
            body.put("entitlement", entitlement);
        }
        if (capped && uncapped) {
            throw CommandError.usage("--capped and --uncapped: one or the other");
        }
        if (capped || uncapped) {
            body.put("capped", capped);
        }
        if (weight != null) {
            body.put("weight", weight);
        }
        return request(name, "PUT", "/cpu", body);
    }

    @Command(name = "set-memory", description = "Resize the running VM's balloon: the guest gives that much back.")
    int setMemory(@Parameters(paramLabel = "NAME") String name,
            @Option(names = "--balloon", paramLabel = "SIZE", required = true,
                    description = "The balloon's target size, e.g. 256M.") String balloon) {
        long bytes;
        try {
            bytes = balloon.trim().equals("0") ? 0 : SizeArgument.parse("--balloon", balloon);
        } catch (IllegalArgumentException e) {
            throw CommandError.usage(e.getMessage());
        }
        return request(name, "PUT", "/memory", Map.of("balloon_target_mib", bytes >> 20));
    }

    @Command(name = "snapshot", description = "Write the running or paused VM as a snapshot directory on the "
            + "server's host (replaced atomically); the VM runs on unless --stop. `hako run --restore DIR` or "
            + "`hako vm restore` resumes it.")
    int snapshot(@Parameters(index = "0", paramLabel = "NAME") String name,
            @Parameters(index = "1", paramLabel = "DIR") Path dir,
            @Option(names = "--stop", description = "Leave the VM paused after the snapshot.") boolean stop,
            @Option(names = "--overlay", description = "Freeze the VM's writable disks at the snapshot point: each "
                    + "image stays as it was (the snapshot names it) and the VM goes on with a new qcow2 overlay "
                    + "beside it, named after DIR (disk.qcow2 and snapshot snap1: disk.snap1), as QEMU's external "
                    + "snapshots do. The VM's definition then names the overlays.") boolean overlay) {
        return request(name, "POST", "/snapshot", Map.of("dir", dir.toAbsolutePath().normalize().toString(),
                "stop", stop, "overlay", overlay));
    }

    @Command(name = "restore", description = "Start the VM, which must not be running, from a snapshot directory "
            + "on the server's host instead of booting it. Disks a snapshot froze (--overlay) go on new overlays of "
            + "their own beside them (disk.SNAPSHOT-restore-N); other disks are written in place.")
    int restore(@Parameters(index = "0", paramLabel = "NAME") String name,
            @Parameters(index = "1", paramLabel = "DIR") Path dir,
            @Option(names = "--overlay", negatable = true, description = "--overlay: every writable disk on a new "
                    + "overlay (the snapshot's images are only read); --no-overlay: write them in place, refused "
                    + "for disks the snapshot froze.") Boolean overlay) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("dir", dir.toAbsolutePath().normalize().toString());
        if (overlay != null) {
            body.put("overlay", overlay);
        }
        return request(name, "POST", "/restore", body);
    }

    @Command(name = "migrate", description = "Move the running VM live to the hako listening at HOST:PORT "
            + "(`hako run --incoming tcp:HOST:PORT`, on this host or another): its RAM is copied while it runs, then "
            + "it pauses for the last pages and its device state, and stops here once it runs there. Prints the total "
            + "time and the downtime. If the migration fails, the VM runs on here; if the connection fails after the "
            + "destination was told to run the guest, the VM stays paused here (status 76): resume it only if the "
            + "destination's guest is not running. Disks move over shared storage (the images at the same paths on "
            + "both sides); user networking on the same host keeps its TCP connections.")
    int migrate(@Parameters(index = "0", paramLabel = "NAME") String name,
            @Option(names = "--to", paramLabel = "HOST:PORT", required = true,
                    description = "Where the destination listens.") String to) {
        try (VmClient client = new VmClient(socket())) {
            JsonNode vm = client.call("POST", "/vms/" + name + "/migrate", Map.of("to", to));
            if (json) {
                return printJson(vm);
            }
            JsonNode m = vm.path("migration");
            spec.commandLine().getOut().printf("%s migrated to %s: %.1f ms in all, %.1f ms of downtime, %d rounds, "
                    + "%.1f MiB sent%n", vm.path("name").asText(), to, m.path("total_ms").asDouble(),
                    m.path("downtime_ms").asDouble(), m.path("rounds").asInt(),
                    m.path("bytes_sent").asLong() / 1048576.0);
            spec.commandLine().getOut().flush();
            return 0;
        }
    }

    private int action(String name, String verb) {
        return request(name, "POST", "/" + verb, null);
    }

    private int request(String name, String method, String suffix, Object body) {
        try (VmClient client = new VmClient(socket())) {
            return printVm(client.call(method, "/vms/" + name + suffix, body));
        }
    }

    /** A VM the server answered with: its JSON, or its name and state. */
    int printVm(JsonNode vm) {
        if (json) {
            return printJson(vm);
        }
        spec.commandLine().getOut().printf("%s %s%n", vm.path("name").asText(), vm.path("state").asText());
        spec.commandLine().getOut().flush();
        return 0;
    }

    private int printJson(JsonNode node) {
        try {
            spec.commandLine().getOut().println(VmClient.JSON.writerWithDefaultPrettyPrinter()
                    .writeValueAsString(node));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new CommandError(ExitStatus.INTERNAL_ERROR, e.getOriginalMessage());
        }
        spec.commandLine().getOut().flush();
        return 0;
    }
}
