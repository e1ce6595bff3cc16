package dev.hako.vmm.image;

import dev.hako.vmm.image.disk.DiskFormat;
import dev.hako.vmm.image.disk.DiskImages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The last step of building a bundle: the finished ext4 file system image (a sparse raw file made by mkfs.ext4)
 * becomes the bundle's disk. This is the one place that decides the disk's format, so a qcow2 writer replaces
 * {@link #RAW} in {@link DebianImageBuilder} without touching anything else.
 */
@FunctionalInterface
public interface BundleDiskWriter {
    /** The file system image itself is the disk: renamed into the bundle, so it stays sparse and costs no copy. */
    BundleDiskWriter RAW = (filesystem, bundleDirectory) -> {
        String name = "disk.raw";
        Files.move(filesystem, bundleDirectory.resolve(name), StandardCopyOption.ATOMIC_MOVE);
        return new BundleDisk(name, DiskFormat.RAW);
    };

    /**
     * The file system image becomes a qcow2 disk (64 KiB clusters; all-zero clusters left unallocated), written
     * under a temporary name and renamed into place; the raw file is removed afterwards.
     */
    BundleDiskWriter QCOW2 = (filesystem, bundleDirectory) -> {
        String name = "disk.qcow2";
        Path partial = bundleDirectory.resolve(name + ".partial");
        DiskImages.convertToQcow2(filesystem, DiskFormat.RAW, partial, 16);
        Files.move(partial, bundleDirectory.resolve(name), StandardCopyOption.ATOMIC_MOVE);
        Files.delete(filesystem);
        return new BundleDisk(name, DiskFormat.QCOW2);
    };

    /**
     * Writes the disk into {@code bundleDirectory} from {@code filesystem} (which it may consume) and says which
     * file it wrote in which format.
     */
    BundleDisk write(Path filesystem, Path bundleDirectory) throws IOException;
}
