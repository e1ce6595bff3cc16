package dev.hako.host;

import dev.hako.vmm.sched.AdmissionException;
import dev.hako.vmm.sched.CpuScheduler;
import dev.hako.vmm.snapshot.MachineSnapshots;
import dev.hako.vmm.snapshot.MigrationResult;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;

/**
 * Many VMs in one process: each by name, with its definition kept in a {@link VmStore} (so a host started again on
 * the same state directory knows its VMs, and starts those marked autostart), its state, and while it runs its
 * machine on its own threads. Every operation that cannot be done is a {@link HostException} whose kind tells the
 * caller why: bad input, no such VM, a conflict with the VM's state or another VM, or what the host lacks.
 */
public final class Host implements AutoCloseable {
    private static final long STOP_WAIT_SECONDS = 10;

    private final VmStore store;
    private final PrintStream log;
    private final CpuScheduler scheduler;
    private final boolean ownsScheduler;
    private final Map<String, Vm> vms = new ConcurrentSkipListMap<>();

    /** A host of the VMs stored in {@code store}, sharing all of this host's cores; none runs until autostart. */
    public Host(VmStore store, PrintStream log) throws IOException {
        this(store, new CpuScheduler(), true, log);
    }

    /** A host whose VMs get their CPU time from {@code scheduler} (which the caller closes). */
    public Host(VmStore store, CpuScheduler scheduler, PrintStream log) throws IOException {
        this(store, scheduler, false, log);
    }

    private Host(VmStore store, CpuScheduler scheduler, boolean ownsScheduler, PrintStream log) throws IOException {
        this.store = store;
        this.log = log;
        this.scheduler = scheduler;
        this.ownsScheduler = ownsScheduler;
        store.loadAll(log).forEach((name, definition) -> vms.put(name, new Vm(name, definition, scheduler, log)));
    }

    /** The host's cores, which capped entitlements together may not exceed. */
    public int capacityCores() {
        return scheduler.capacityCores();
    }

    /** Starts every VM marked autostart; one that fails to start is reported and the others still start. */
    public void autostart() {
        for (Vm vm : vms.values()) {
            if (vm.definition().autostarts()) {
                try {
                    vm.start();
                } catch (HostException e) {
                    log.println("hako: autostart of VM " + vm.name() + " failed: " + e.getMessage());
                }
            }
        }
    }

    /** Defines a new VM (stored before it is known); a name in use is a conflict. */
    public VmStatus define(String name, VmDefinition definition) {
        requireName(name);
        definition.validate();
        synchronized (vms) {
            if (vms.containsKey(name)) {
                throw HostException.conflict("a VM named " + name + " exists already");
            }
            try {
                store.save(name, definition);
            } catch (IOException e) {
                throw HostException.unavailable(null, "cannot store the definition: " + e.getMessage());
            }
            Vm vm = new Vm(name, definition, scheduler, log);
            vms.put(name, vm);
            return vm.status();
        }
    }

    public List<VmStatus> list() {
        List<VmStatus> all = new ArrayList<>();
        for (Vm vm : vms.values()) {
            all.add(vm.status());
        }
        return all;
    }

    public VmStatus status(String name) {
        return vm(name).status();
    }

    /** Removes a VM that does not run, and its stored definition. */
    public void delete(String name) {
        synchronized (vms) {
            Vm vm = vm(name);
            if (vm.active()) {
                throw HostException.conflict("VM " + name + " is " + vm.state().label() + ": stop it first");
            }
            try {
                store.delete(name);
            } catch (IOException e) {
                throw HostException.unavailable(null, "cannot remove the definition: " + e.getMessage());
            }
            vms.remove(name);
            vm.close();
        }
    }

    public VmStatus start(String name) {
        Vm vm = vm(name);
        vm.start();
        return vm.status();
    }

    public VmStatus pause(String name) throws InterruptedException {
        Vm vm = vm(name);
        vm.pause();
        return vm.status();
    }

    public VmStatus resume(String name) {
        Vm vm = vm(name);
        vm.resume();
        return vm.status();
    }

    /**
     * Writes the running or paused VM as the snapshot directory {@code dir} (an absolute path on this host), then
     * lets it run again unless {@code stayPaused}. With {@code overlay} its writable disks are frozen at the snapshot
     * point: it goes on with a qcow2 overlay over each, and its stored definition names the overlays.
     */
    public VmStatus snapshot(String name, String dir, boolean stayPaused, boolean overlay)
            throws InterruptedException {
        Vm vm = vm(name);
        Path target = absolute(dir);
        synchronized (vm) {
            Map<Path, Path> moved = new LinkedHashMap<>();
            try {
                vm.snapshot(target, stayPaused, overlay, moved);
            } finally {
                if (!moved.isEmpty()) {
                    VmDefinition changed = vm.definition().withDisksMoved(moved);
                    try {
                        store.save(name, changed);
                    } catch (IOException e) {
                        throw HostException.unavailable(null, "VM " + name + " goes on with its overlays " + moved
                                .values() + ", but its definition could not be stored: " + e.getMessage());
                    }
                    vm.redefine(changed);
                }
            }
        }
        return vm.status();
    }

    /**
     * Starts the VM, which must not be running, from the snapshot directory {@code dir} instead of booting it;
     * {@code overlay} null restores the disks as the snapshot was taken (frozen ones on new overlays), true puts every
     * writable disk on a new overlay, false writes them in place (refused for frozen disks).
     */
    public VmStatus restore(String name, String dir, Boolean overlay) {
        Vm vm = vm(name);
        vm.restore(absolute(dir), MachineSnapshots.DiskRestore.of(overlay));
        return vm.status();
    }

    /** A VM moved to another hako: where it stood after the move (stopped here) and how the move went. */
    public record Migration(VmStatus status, MigrationResult result) {}

    /**
     * Migrates the running VM live to the hako listening at {@code to} ("HOST:PORT", {@code hako run --incoming
     * tcp:HOST:PORT}); the VM stops here once the guest runs there, and runs on here if the migration fails.
     */
    public Migration migrate(String name, String to) throws InterruptedException {
        Vm vm = vm(name);
        int colon = to == null ? -1 : to.lastIndexOf(':');
        if (colon <= 0) {
            throw HostException.badInput("to", "to " + (to == null ? "is missing" : to + " is not HOST:PORT")
                    + ": where `hako run --incoming tcp:HOST:PORT` listens");
        }
        int port;
        try {
            port = Integer.parseInt(to.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 1 || port > 65535) {
            throw HostException.badInput("to", "to " + to + ": the port must be 1 to 65535");
        }
        String host = to.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        MigrationResult result = vm.migrate(host, port);
        return new Migration(vm.status(), result);
    }

    private static Path absolute(String dir) {
        if (dir == null || dir.isEmpty()) {
            throw HostException.badInput("dir", "dir is missing: the snapshot directory, an absolute path");
        }
        Path path;
        try {
            path = Path.of(dir);
        } catch (InvalidPathException e) {
            throw HostException.badInput("dir", "dir " + dir + " is not a path: " + e.getReason());
        }
        if (!path.isAbsolute()) {
            throw HostException.badInput("dir", "dir " + dir + " is not an absolute path");
        }
        return path.normalize();
    }

    /** Presses the VM's ACPI power button; the guest decides (a busybox guest without acpid ignores it). */
    public VmStatus shutdown(String name) {
        Vm vm = vm(name);
        vm.pressPowerButton();
        return vm.status();
    }

    /** Ends the VM at once. */
    public VmStatus stop(String name) throws InterruptedException {
        Vm vm = vm(name);
        vm.stop("stopped by the host");
        return vm.status();
    }

    /** Stops the VM and builds its machine again from its definition: a cold reset. */
    public VmStatus reset(String name) throws InterruptedException {
        Vm vm = vm(name);
        synchronized (vm) {
            if (!vm.active()) {
                throw HostException.conflict("VM " + name + " is " + vm.state().label() + ", not running");
            }
            vm.stop("reset by the host");
            vm.start();
        }
        return vm.status();
    }

    /**
     * Changes the VM's CPU settings: fields absent in {@code change} keep their value. A running VM's partition
     * changes at once (the scheduler applies it from its next 10 ms window); a capped entitlement that does not fit
     * beside the others is a conflict and changes nothing. Then the definition is stored.
     */
    public VmStatus setCpu(String name, CpuSettings change) {
        Vm vm = vm(name);
        synchronized (vm) {
            VmDefinition definition = vm.definition();
            CpuSettings merged = change.over(definition.cpuOrDefault());
            try {
                vm.changeEntitlement(merged.toEntitlement(definition.vcpusOrDefault()));
            } catch (AdmissionException e) {
                throw HostException.conflict(e.getMessage());
            }
            VmDefinition changed = definition.withCpu(merged);
            try {
                store.save(name, changed);
            } catch (IOException e) {
                throw HostException.unavailable(null, "cannot store the definition: " + e.getMessage());
            }
            vm.redefine(changed);
        }
        return vm.status();
    }

    /** Asks the running VM's balloon to hold {@code mib} MiB (the guest gives that much RAM back). */
    public VmStatus setBalloonTarget(String name, long mib) {
        if (mib < 0 || mib > VmDefinition.MAX_MEMORY_MIB) {
            throw HostException.badInput("balloon_target_mib", "balloon_target_mib " + mib + " is outside 0.."
                    + VmDefinition.MAX_MEMORY_MIB);
        }
        Vm vm = vm(name);
        vm.setBalloonTarget(mib << 20);
        return vm.status();
    }

    /** The VM's serial console. */
    public ConsoleHub console(String name) {
        return vm(name).console();
    }

    /** Waits up to {@code timeout} for the VM's current run to end. */
    public boolean awaitEnd(String name, long timeout, TimeUnit unit) throws InterruptedException {
        return vm(name).awaitEnd(timeout, unit);
    }

    /** Stops every running VM (their definitions stay). */
    @Override
    public void close() {
        for (Vm vm : vms.values()) {
            if (vm.active()) {
                try {
                    vm.stop("the host is shutting down");
                    vm.awaitEnd(STOP_WAIT_SECONDS, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (HostException e) {
                    // it ended meanwhile
                }
            }
            vm.close();
        }
        if (ownsScheduler) {
            scheduler.close();
        }
    }

    /** Refuses a name that is not a lower-case DNS label. */
    public static void requireName(String name) {
        if (name == null || !VmDefinition.NAME.matcher(name).matches()) {
            throw HostException.badInput("name", "a VM name is 1 to 63 lower-case letters, digits and '-', "
                    + "starting with a letter or digit");
        }
    }

    private Vm vm(String name) {
        requireName(name);
        Vm vm = vms.get(name);
        if (vm == null) {
            throw new HostException(HostException.Kind.NOT_FOUND, "name", "no VM named " + name);
        }
        return vm;
    }
}
