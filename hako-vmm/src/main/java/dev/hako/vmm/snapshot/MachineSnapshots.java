package dev.hako.vmm.snapshot;

import dev.hako.core.state.Snapshotable;
import dev.hako.devices.backend.CharBackend;
import dev.hako.vmm.host.HostFile;
import dev.hako.vmm.image.disk.DiskFormat;
import dev.hako.vmm.image.disk.DiskImages;
import dev.hako.vmm.machine.Disk;
import dev.hako.vmm.machine.Machine;
import dev.hako.vmm.machine.MachineBuilder;
import dev.hako.vmm.machine.MachineConfig;
import dev.hako.vmm.sched.Partition;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Takes a snapshot of a paused machine into a {@link SnapshotDirectory} and builds a machine again from one: the
 * same configuration (disks reopened by path), RAM mapped copy-on-write from the snapshot's memory file, and every
 * {@link Snapshotable} component restored from its record, clock first. The restored machine is paused-fresh:
 * {@link Machine#start} resumes the guest where it was saved.
 */
public final class MachineSnapshots {
    private MachineSnapshots() {}

    /** Writes {@code machine}, which must be paused or ended, as the snapshot {@code dir}. */
    public static SnapshotDirectory.Written take(Machine machine, Path dir) throws IOException, SnapshotException {
        if (!machine.paused() && !machine.ended()) {
            throw new IllegalStateException("a snapshot needs the machine paused");
        }
        MachineSpec spec = MachineSpec.of(machine.config(), machine.accelerator());
        Map<String, Record> states = new LinkedHashMap<>();
        machine.devices().snapshotables().forEach((id, component) -> states.put(id, component.save()));
        return SnapshotDirectory.write(dir, MachineDocument.write(spec, states), machine.ram());
    }

    /**
     * Builds the machine saved in {@code dir} with its console on {@code console} (the serial port's, and the
     * virtio console's if it had one), scheduled in {@code partition} (null: unscheduled), every component
     * restored; it has not started.
     */
    public static Machine restore(Path dir, CharBackend console, PrintStream log, Partition partition)
            throws SnapshotException, IOException {
        MachineDocument document = MachineDocument.read(SnapshotDirectory.readDocument(dir),
                dir.resolve(SnapshotDirectory.DOCUMENT).toString());
        MachineSpec spec = document.machine();
        MachineConfig config = spec.toConfig(openDisks(spec), console);
        if (partition != null) {
            config = config.withPartition(partition);
        }
        Machine machine;
        try {
            machine = new MachineBuilder(config, console, log).restoringMemory(dir.resolve(SnapshotDirectory.MEMORY))
                    .build();
        } catch (IOException e) {
            Disk.closeAll(config.disks());
            throw e;
        } catch (RuntimeException e) {
            Disk.closeAll(config.disks());
            throw new SnapshotException("snapshot " + dir + ": " + e.getMessage(), e);
        }
        try {
            restoreComponents(machine, document);
            return machine;
        } catch (SnapshotException | RuntimeException e) {
            machine.close();
            throw e;
        }
    }

    /**
     * Reads a document of the fresh, not yet started {@code machine}'s own states the way a restore reads one, and
     * restores nothing: the first reading of each record type costs this JVM a few milliseconds of class loading and
     * compiling, which a migration's destination pays this way while the pages stream in instead of while the guest
     * is paused.
     */
    static void prepareReading(Machine machine, MachineSpec spec) throws SnapshotException {
        Map<String, Record> states = new LinkedHashMap<>();
        machine.devices().snapshotables().forEach((id, component) -> states.put(id, component.save()));
        MachineDocument document = MachineDocument.read(MachineDocument.write(spec, states), "a fresh machine");
        for (Map.Entry<String, Snapshotable<?>> c : machine.devices().snapshotables().entrySet()) {
            document.state(c.getKey(), c.getValue());
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static void restoreComponents(Machine machine, MachineDocument document) throws SnapshotException {
        Map<String, Snapshotable<?>> components = machine.devices().snapshotables();
        Set<String> saved = document.ids();
        for (String id : saved) {
            if (!components.containsKey(id)) {
                throw new SnapshotException("the snapshot has state for component '" + id + "', which this "
                        + "machine does not have");
            }
        }
        for (Map.Entry<String, Snapshotable<?>> c : components.entrySet()) {
            Record state = document.state(c.getKey(), c.getValue());
            try {
                ((Snapshotable) c.getValue()).restore(state);
            } catch (IllegalArgumentException e) {
                throw new SnapshotException("component '" + c.getKey() + "' cannot take its saved state: "
                        + e.getMessage());
            }
        }
    }

    static List<Disk> openDisks(MachineSpec spec) throws SnapshotException {
        List<Disk> opened = new ArrayList<>();
        for (MachineSpec.DiskSpec d : spec.disks()) {
            try {
                opened.add(new Disk(DiskImages.open(Path.of(d.path()), DiskFormat.named(d.format()), d.readOnly()),
                        d.serial()));
            } catch (IOException | IllegalArgumentException e) {
                Disk.closeAll(opened);
                throw new SnapshotException("the snapshot's disk " + d.path() + ": " + (e instanceof IOException io
                        ? HostFile.describe(io) : e.getMessage()));
            }
        }
        return opened;
    }
}
