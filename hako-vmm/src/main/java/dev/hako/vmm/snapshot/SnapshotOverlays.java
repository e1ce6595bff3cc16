package dev.hako.vmm.snapshot;

import dev.hako.vmm.host.HostFile;
import dev.hako.vmm.image.disk.DiskFormat;
import dev.hako.vmm.image.disk.DiskImage;
import dev.hako.vmm.image.disk.DiskImages;
import dev.hako.vmm.image.disk.DiskOverlay;
import dev.hako.vmm.image.disk.HandoverDisk;
import dev.hako.vmm.machine.Disk;
import dev.hako.vmm.machine.Machine;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A snapshot's disks frozen at the snapshot point, as QEMU's external snapshots freeze them: each writable disk's
 * image stays as it was (the snapshot names it, marked frozen) and the machine goes on with a new qcow2 overlay over
 * it ({@link DiskOverlay}: beside the image, named after the snapshot). A restore of such a snapshot never writes a
 * frozen image either: each restore opens an overlay of its own over it, so one snapshot can be restored many times,
 * each diverging on its own.
 */
final class SnapshotOverlays {
    private SnapshotOverlays() {}

    /** A writable disk of a running machine, its image, and the overlay it goes on with. */
    record Planned(HandoverDisk disk, Path image, Path overlay) {}

    /**
     * Names the overlays of {@code machine}'s writable disks for the snapshot {@code dir}, refusing in one line a
     * machine with no writable disk, an overlay name that exists or that two disks would share.
     */
    static List<Planned> plan(Machine machine, Path dir) throws SnapshotException {
        String name = dir.getFileName().toString();
        List<Planned> plan = new ArrayList<>();
        Set<Path> names = new HashSet<>();
        for (Disk disk : machine.config().disks()) {
            if (!(disk.backend() instanceof HandoverDisk image) || image.readOnly()) {
                continue;
            }
            Path overlay = DiskOverlay.beside(image.path(), name);
            if (Files.exists(overlay) || !names.add(overlay)) {
                throw new SnapshotException("overlay " + overlay + " for disk '" + disk.serial() + "' exists"
                        + (Files.exists(overlay) ? "" : " as another disk's overlay") + ": an overlay never "
                        + "replaces a file (name the snapshot differently)");
            }
            plan.add(new Planned(image, image.path().toAbsolutePath(), overlay));
        }
        if (plan.isEmpty()) {
            throw new SnapshotException("the machine has no writable disk, so there is nothing to freeze under an "
                    + "overlay (its read-only disks cannot change): take the snapshot without the overlay");
        }
        return plan;
    }

    /** Creates every planned overlay file; a failure removes those created and leaves each disk on its image. */
    static void create(List<Planned> plan) throws IOException {
        List<Path> created = new ArrayList<>();
        try {
            for (Planned p : plan) {
                p.disk().flush();
                DiskOverlay.create(p.overlay(), p.disk().path(), p.disk().format(), p.disk().size());
                created.add(p.overlay());
            }
        } catch (IOException | RuntimeException e) {
            for (Path overlay : created) {
                Files.deleteIfExists(overlay);
            }
            throw e;
        }
    }

    /**
     * Moves each planned disk onto its overlay ({@link HandoverDisk#continueOn}). A failure leaves that disk and the
     * ones after it on their images (their overlays removed), the ones before it on their overlays.
     */
    static void continueOnOverlays(List<Planned> plan) throws IOException {
        for (int i = 0; i < plan.size(); i++) {
            try {
                plan.get(i).disk().continueOn(plan.get(i).overlay());
            } catch (IOException | RuntimeException e) {
                for (Planned left : plan.subList(i, plan.size())) {
                    Files.deleteIfExists(left.overlay());
                }
                throw e;
            }
        }
    }

    /**
     * Opens the disks of {@code spec}, the snapshot {@code dir}'s: in place as it names them, except frozen ones,
     * and with {@code overlays} every writable one, which go on a new overlay of their own
     * ({@link DiskOverlay#createNumbered}, said on {@code log}).
     */
    static List<Disk> openForRestore(MachineSpec spec, Path dir, boolean overlays, PrintStream log)
            throws SnapshotException {
        List<Disk> opened = new ArrayList<>();
        for (MachineSpec.DiskSpec d : spec.disks()) {
            Path path = Path.of(d.path());
            try {
                DiskFormat format = DiskFormat.named(d.format());
                DiskImage image;
                if (!d.readOnly() && (d.frozen() || overlays)) {
                    long size;
                    try (DiskImage frozen = DiskImages.open(path, format, true)) {
                        size = frozen.size();
                    }
                    Path overlay = DiskOverlay.createNumbered(path, dir.getFileName().toString(), format, size);
                    image = DiskImages.open(overlay, DiskFormat.QCOW2, false);
                    log.println("hako: disk '" + d.serial() + "' runs on the new overlay " + overlay + " over "
                            + path);
                } else {
                    image = DiskImages.open(path, format, d.readOnly());
                }
                opened.add(new Disk(image, d.serial()));
            } catch (IOException | IllegalArgumentException e) {
                Disk.closeAll(opened);
                throw new SnapshotException("the snapshot's disk " + d.path() + ": " + (e instanceof IOException io
                        ? HostFile.describe(io) : e.getMessage()));
            }
        }
        return opened;
    }
}
