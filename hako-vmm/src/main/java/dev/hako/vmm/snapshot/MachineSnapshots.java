package dev.hako.vmm.snapshot;

import dev.hako.core.state.Snapshotable;
import dev.hako.devices.backend.CharBackend;
import dev.hako.vmm.host.HostFile;
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
        return write(machine, dir, MachineSpec.of(machine.config(), machine.accelerator()));
    }

    private static SnapshotDirectory.Written write(Machine machine, Path dir, MachineSpec spec)
            throws IOException, SnapshotException {
        Map<String, Record> states = new LinkedHashMap<>();
        machine.devices().snapshotables().forEach((id, component) -> states.put(id, component.save()));
        return SnapshotDirectory.write(dir, MachineDocument.write(spec, states), machine.ram());
    }

    /** A disk frozen at a snapshot point: the image the snapshot names, and the overlay the machine went on with. */
    public record Frozen(Path image, Path overlay) {}

    /**
     * Writes {@code machine}, which must be paused, as the snapshot {@code dir} with its writable disks frozen
     * ({@link SnapshotOverlays}): each goes on with a new qcow2 overlay beside its image, named after the snapshot,
     * and the snapshot names the image, which from now on is only read. An overlay that cannot be made (its name
     * taken, its directory not writable or full) is a {@link SnapshotException} in one line, with every disk left on
     * its image. Should a disk be left with no image (its writer lock lost while moving), the machine is stopped.
     * Once the disks moved they stay moved, also when writing the snapshot then fails (the message names them).
     */
    public static List<Frozen> takeWithOverlays(Machine machine, Path dir) throws IOException, SnapshotException {
        if (!machine.paused()) {
            throw new IllegalStateException("a snapshot with overlays needs the machine paused");
        }
        SnapshotDirectory.checkTarget(dir);
        MachineSpec spec = MachineSpec.of(machine.config(), machine.accelerator()).withWritableDisksFrozen();
        List<SnapshotOverlays.Planned> plan = SnapshotOverlays.plan(machine, dir.toAbsolutePath().normalize());
        try {
            SnapshotOverlays.create(plan);
        } catch (IOException e) {
            throw new SnapshotException(HostFile.describe(e));
        }
        try {
            SnapshotOverlays.continueOnOverlays(plan);
        } catch (IOException e) {
            if (plan.stream().anyMatch(p -> !p.disk().held())) {
                machine.stop("snapshot " + dir + ": " + HostFile.describe(e));
            }
            throw new SnapshotException("cannot go on with the overlays: " + HostFile.describe(e));
        }
        List<Frozen> frozen = plan.stream().map(p -> new Frozen(p.image(), p.overlay())).toList();
        try {
            write(machine, dir, spec);
        } catch (IOException e) {
            throw new IOException(HostFile.describe(e) + " (the disks went on with their overlays all the same: "
                    + frozen.stream().map(f -> f.overlay().toString()).toList() + ")", e);
        }
        return frozen;
    }

    /** How a restore treats the snapshot's writable disks. */
    public enum DiskRestore {
        /** Frozen disks on new overlays, the others written in place: as the snapshot was taken. */
        AS_TAKEN,
        /** Every writable disk on a new overlay: the snapshot's images are only read. */
        OVERLAY,
        /** Every disk written in place: refused for a snapshot that froze its disks. */
        IN_PLACE;

        /** As a user's overlay option says: not given (null), given, or negated. */
        public static DiskRestore of(Boolean overlay) {
            return overlay == null ? AS_TAKEN : overlay ? OVERLAY : IN_PLACE;
        }
    }

    /**
     * Builds the machine saved in {@code dir} with its console on {@code console} (the serial port's, and the
     * virtio console's if it had one), scheduled in {@code partition} (null: unscheduled), every component
     * restored; it has not started. Frozen disks go on new overlays.
     */
    public static Machine restore(Path dir, CharBackend console, PrintStream log, Partition partition)
            throws SnapshotException, IOException {
        return restore(dir, console, log, partition, DiskRestore.AS_TAKEN);
    }

    /** {@link #restore(Path, CharBackend, PrintStream, Partition)}, its writable disks treated as {@code disks}. */
    public static Machine restore(Path dir, CharBackend console, PrintStream log, Partition partition,
            DiskRestore disks) throws SnapshotException, IOException {
        MachineDocument document = MachineDocument.read(SnapshotDirectory.readDocument(dir),
                dir.resolve(SnapshotDirectory.DOCUMENT).toString());
        MachineSpec spec = document.machine();
        if (disks == DiskRestore.IN_PLACE && spec.disks().stream().anyMatch(MachineSpec.DiskSpec::frozen)) {
            throw new SnapshotException("snapshot " + dir + " froze its disks at the snapshot point (taken with an "
                    + "overlay), so a restore runs on new overlays over them and never writes them in place");
        }
        MachineConfig config = spec.toConfig(SnapshotOverlays.openForRestore(spec, dir.toAbsolutePath().normalize(),
                disks == DiskRestore.OVERLAY, log), console);
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
}
