package dev.hako.vmm.image;

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
     * Writes the disk into {@code bundleDirectory} from {@code filesystem} (which it may consume) and says which
     * file it wrote in which format.
     */
    BundleDisk write(Path filesystem, Path bundleDirectory) throws IOException;
}
