package dev.hako.vmm.image.disk;

import dev.hako.sys.HostFile;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * The qcow2 overlays a snapshot point makes, as QEMU's {@code blockdev-snapshot-sync} and libvirt's external
 * snapshots make them: a new, empty version 3 image whose backing file is the image being frozen, so the frozen
 * image is only read from then on. Named as libvirt names external snapshot files: beside the image, the image's
 * name with its last extension replaced by the snapshot's name ({@code disk.qcow2} under snapshot {@code snap1}:
 * {@code disk.snap1}); the backing file is stored by its bare name, relative to the overlay's directory, so the
 * pair can move together.
 *
 * <p>Created atomically: written and synced under a temporary name in the same directory, then linked to its name
 * ({@code link(2)}, which refuses a name that exists: an overlay never replaces a file), the temporary name removed
 * and the directory synced. A crash leaves at most a {@code .NAME.tmp-PID} file, never a half-written overlay.
 */
public final class DiskOverlay {
    /** QEMU's default cluster size, 64 KiB. */
    static final int CLUSTER_BITS = 16;
    /** How many numbered names a restore tries before it gives up. */
    private static final int MAX_NUMBER = 9999;

    private DiskOverlay() {}

    /** The overlay of {@code image} named after {@code snapshotName}: libvirt's name, beside the image. */
    public static Path beside(Path image, String snapshotName) {
        Path absolute = image.toAbsolutePath();
        String file = absolute.getFileName().toString();
        int dot = file.lastIndexOf('.');
        String stem = dot > 0 ? file.substring(0, dot) : file;
        return absolute.resolveSibling(stem + "." + snapshotName);
    }

    /**
     * Creates {@code overlay} (which must not exist) over {@code backing}, a {@code backingFormat} image of
     * {@code size} bytes in the same directory, without opening {@code backing}; one {@link IOException} naming
     * the overlay when it exists, its directory cannot be written or has no room.
     */
    public static void create(Path overlay, Path backing, DiskFormat backingFormat, long size) throws IOException {
        Path directory = overlay.toAbsolutePath().getParent();
        if (!backing.toAbsolutePath().getParent().equals(directory)) {
            throw new IllegalArgumentException(overlay + " is not beside its backing file " + backing);
        }
        if (Files.exists(overlay, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("overlay " + overlay + " exists: an overlay never replaces a file (name the "
                    + "snapshot differently or move the file away)");
        }
        Path temporary = directory.resolve("." + overlay.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        try {
            HostFile file = openTemporary(temporary, overlay);
            try (file) {
                ImageLock.acquire(file, true);
                file.truncate(0);
                Qcow2Formatter.writeOverlay(file, overlay, size, CLUSTER_BITS, backing.getFileName().toString(),
                        backingFormat);
            } catch (IOException e) {
                String reason = e.getMessage().replace(temporary + ": ", "");
                throw new IOException("cannot write the overlay " + overlay + ": " + (reason.contains("ENOSPC")
                        ? "no room left on its file system (" + reason + ")" : reason), e);
            }
            try {
                Files.createLink(overlay, temporary);
            } catch (FileAlreadyExistsException e) {
                throw new IOException("overlay " + overlay + " exists: an overlay never replaces a file", e);
            }
        } finally {
            Files.deleteIfExists(temporary);
        }
        dev.hako.vmm.host.HostFile.syncDirectory(directory);
    }

    /**
     * Creates the first free overlay {@code beside(image, name + "-restore-N")}, N from 1, over {@code image} (a
     * {@code format} image of {@code size} bytes): a restore's own overlay, so that each restore of one snapshot
     * diverges on its own. Returns its path.
     */
    public static Path createNumbered(Path image, String name, DiskFormat format, long size) throws IOException {
        for (int n = 1; n <= MAX_NUMBER; n++) {
            Path overlay = beside(image, name + "-restore-" + n);
            if (Files.exists(overlay, LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            try {
                create(overlay, image.toAbsolutePath(), format, size);
                return overlay;
            } catch (IOException e) {
                if (!(e.getCause() instanceof FileAlreadyExistsException)) {
                    throw e;
                }
                // another restore took this number a moment ago: try the next
            }
        }
        throw new IOException(image + ": overlays " + name + "-restore-1 to -" + MAX_NUMBER + " all exist beside it;"
                + " delete the ones no longer used");
    }

    private static HostFile openTemporary(Path temporary, Path overlay) throws IOException {
        try {
            return HostFile.create(temporary);
        } catch (IOException e) {
            throw new IOException("cannot create the overlay " + overlay + " in its directory: " + e.getMessage()
                    .replace(temporary + ": cannot open: ", ""), e);
        }
    }
}
