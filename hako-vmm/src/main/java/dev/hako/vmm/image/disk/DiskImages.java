package dev.hako.vmm.image.disk;

import dev.hako.sys.HostFile;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * Opening disk images: the format given or detected from the header (the qcow2 magic, else raw), the file locked
 * as QEMU locks it ({@link ImageLock}: exclusive for writing, shared for reading), a qcow2 image's backing chain
 * opened read-only below it. A missing, unreadable, truncated or corrupt image is one {@link IOException} whose
 * message names the file and the problem.
 */
public final class DiskImages {
    /** Deeper backing chains are refused: it is far beyond any real use, and it stops loops. */
    static final int MAX_BACKING_CHAIN = 16;

    private DiskImages() {}

    /** Opens {@code path} as {@code format}, or as the format its header shows when {@code format} is null. */
    public static DiskImage open(Path path, DiskFormat format, boolean readOnly) throws IOException {
        return open(path, format, readOnly, List.of());
    }

    private static DiskImage open(Path path, DiskFormat format, boolean readOnly, List<Path> chain)
            throws IOException {
        if (Files.isDirectory(path)) {
            throw new IOException(path + ": is a directory, not a disk image");
        }
        HostFile file = HostFile.open(path, !readOnly);
        try {
            ImageLock.acquire(file, !readOnly);
            DiskFormat found = detect(file);
            if (format == DiskFormat.QCOW2 && found != DiskFormat.QCOW2) {
                throw new IOException(path + ": not a qcow2 image (no QFI\\xfb magic at its start)");
            }
            DiskFormat actual = format == null ? found : format;
            return switch (actual) {
                case RAW -> new RawImage(path, file, readOnly);
                case QCOW2 -> Qcow2Image.open(path, file, readOnly, chain);
            };
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /**
     * Opens the backing file {@code name} of the qcow2 image {@code overlay} read-only; {@code chain} holds the
     * real paths of the images above it.
     */
    static DiskImage openBacking(Path overlay, String name, String formatName, List<Path> chain)
            throws IOException {
        if (name.startsWith("json:") || name.contains("://")) {
            throw new IOException(overlay + ": backing file \"" + name + "\" is not a local file, which hako"
                    + " cannot open");
        }
        Path path = backingPath(overlay, name);
        Path real;
        try {
            real = path.toRealPath();
        } catch (NoSuchFileException e) {
            throw new IOException(overlay + ": backing file " + path + " does not exist");
        }
        if (chain.contains(real)) {
            throw new IOException(overlay + ": the backing chain loops back to " + real);
        }
        if (chain.size() >= MAX_BACKING_CHAIN) {
            throw new IOException(overlay + ": backing chain deeper than " + MAX_BACKING_CHAIN + " images");
        }
        try {
            DiskFormat format = formatName == null ? null : DiskFormat.named(formatName);
            return open(path, format, true, chain);
        } catch (IOException e) {
            throw new IOException(overlay + ": backing file " + name + ": " + e.getMessage(), e);
        }
    }

    /** Where a backing file name stored in {@code overlay} points: a relative name is relative to its directory. */
    static Path backingPath(Path overlay, String name) {
        Path backing = Path.of(name);
        if (backing.isAbsolute()) {
            return backing;
        }
        Path directory = overlay.toAbsolutePath().getParent();
        return directory == null ? backing : directory.resolve(backing);
    }

    /**
     * Writes a new qcow2 image {@code target} (version 3, no backing file) holding the disk of {@code source}
     * (format given, or detected when null); clusters that are all zero in the source stay unallocated.
     */
    public static void convertToQcow2(Path source, DiskFormat sourceFormat, Path target, int clusterBits)
            throws IOException {
        try (DiskImage image = open(source, sourceFormat, true)) {
            Qcow2Converter.convert(image, target, clusterBits);
        }
    }

    private static DiskFormat detect(HostFile file) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment magic = arena.allocate(4);
            long n = file.read(0, magic, 0, 4);
            return n == 4 && magic.get(Qcow2Format.BE_INT, 0) == Qcow2Format.MAGIC ? DiskFormat.QCOW2
                    : DiskFormat.RAW;
        }
    }
}
