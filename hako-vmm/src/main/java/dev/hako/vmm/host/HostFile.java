package dev.hako.vmm.host;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Files on the host that the user names: checked before they are read, so that a directory, a device, a
 * missing or unreadable file or one too large for the guest is refused with one line that says which, before
 * a byte is read; and outputs written whole or not at all (a temporary file beside the target, then a rename),
 * so that a reader never sees half a file and two writers never mix.
 */
public final class HostFile {
    /** The largest file hako reads whole: a Java array's limit. */
    public static final long MAX_READ = Integer.MAX_VALUE - 8;
    /** st_mode's file type field and its values (stat(2)). */
    private static final int S_IFMT = 0170000, S_IFSOCK = 0140000, S_IFBLK = 0060000, S_IFCHR = 0020000,
            S_IFIFO = 0010000;

    private HostFile() {}

    /**
     * Reads {@code file} whole. {@code role} names it in messages ("kernel", "--init"); it is refused unless it
     * is a readable regular file of at most {@code maxBytes}, where {@code limit} says what that limit is (e.g.
     * "the guest's 512 MiB of RAM").
     */
    public static byte[] read(Path file, String role, long maxBytes, String limit) throws UnusableFileException {
        long size = requireReadable(file, role, maxBytes, limit);
        byte[] data;
        try {
            data = new byte[(int) size];
        } catch (OutOfMemoryError e) {
            throw new UnusableFileException(role + " " + file + ": " + human(size) + " does not fit in hako's Java "
                    + "heap; give it more with HAKO_JAVA_OPTS=-Xmx...");
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.wrap(data);
            while (buffer.hasRemaining()) {
                if (channel.read(buffer) < 0) {
                    throw new UnusableFileException(role + " " + file + ": shrank to " + buffer.position()
                            + " bytes while hako read it");
                }
            }
        } catch (UnusableFileException e) {
            throw e;
        } catch (IOException e) {
            throw new UnusableFileException(role + " " + file + ": " + reason(e));
        }
        return data;
    }

    /**
     * Checks that {@code file} is a regular file hako may read, of at most {@code maxBytes} (and at most
     * {@link #MAX_READ}); returns its size. Nothing is read: a 3 GiB file is refused at once.
     */
    public static long requireReadable(Path file, String role, long maxBytes, String limit)
            throws UnusableFileException {
        BasicFileAttributes attributes = attributes(file, role);
        String kind = kind(file, attributes);
        if (kind != null) {
            throw new UnusableFileException(role + " " + file + " is " + kind + ", not a file");
        }
        long size = attributes.size();
        if (size > maxBytes) {
            throw new UnusableFileException(role + " " + file + " is " + human(size) + ", more than " + limit);
        }
        if (size > MAX_READ) {
            throw new UnusableFileException(role + " " + file + " is " + human(size) + ", more than the "
                    + human(MAX_READ) + " hako can load");
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return size; // opened: the permission check is the kernel's, done here and not guessed
        } catch (IOException e) {
            throw new UnusableFileException(role + " " + file + ": " + reason(e));
        }
    }

    /**
     * Checks that {@code file} can be created or replaced: its directory exists and it is not a directory or
     * another non-regular file.
     */
    public static void requireWritable(Path file, String role) throws UnusableFileException {
        Path absolute = file.toAbsolutePath();
        if (Files.exists(absolute)) {
            String kind = kind(absolute);
            if (kind != null) {
                throw new UnusableFileException(role + " " + file + " is " + kind + "; name a file to write");
            }
        }
        Path parent = absolute.getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new UnusableFileException(role + " " + file + ": no directory " + parent);
        }
    }

    /**
     * Writes {@code data} to {@code file} whole: into a temporary file in the same directory, then renamed over
     * {@code file}. Readers see the old file or the new one, never a part; concurrent writers of the same bytes
     * do not disturb each other.
     */
    public static void writeAtomically(Path file, byte[] data) throws IOException {
        Path absolute = file.toAbsolutePath();
        Path temporary = Files.createTempFile(absolute.getParent(), "." + absolute.getFileName() + ".", ".tmp");
        try {
            Files.write(temporary, data);
            // A temporary file is private (0600); the result is an ordinary file, as the shell would create it.
            Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rw-r--r--"));
            try {
                Files.move(temporary, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temporary, absolute, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    /** Makes {@code directory}'s entries (a rename, a link, a removal) durable: fsync of the directory itself. */
    public static void syncDirectory(Path directory) throws IOException {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    /** What a path is when it is not a regular file ("a directory", "a character device"...); null when it is. */
    public static String kind(Path file) {
        try {
            return kind(file, Files.readAttributes(file, BasicFileAttributes.class));
        } catch (IOException e) {
            return "missing";
        }
    }

    /** A file system error in one line: the file and the reason, or the message of any other I/O error. */
    public static String describe(IOException e) {
        if (e instanceof FileSystemException f && f.getFile() != null) {
            return f.getFile() + ": " + reason(f);
        }
        return String.valueOf(e.getMessage());
    }

    /** The one-line reason of a file system error, without Java's exception names. */
    public static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied (hako runs as " + System.getProperty("user.name") + ")";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason().toLowerCase(java.util.Locale.ROOT);
        }
        return String.valueOf(e.getMessage());
    }

    /** A size for people: bytes, or KiB, MiB, GiB with at most one decimal. */
    public static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " bytes";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        String number = String.format(java.util.Locale.ROOT, "%.1f", value);
        return (number.endsWith(".0") ? number.substring(0, number.length() - 2) : number) + " " + units[unit];
    }

    private static BasicFileAttributes attributes(Path file, String role) throws UnusableFileException {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            Path parent = file.toAbsolutePath().getParent();
            String where = parent != null && !Files.isDirectory(parent) ? " (no directory " + parent + ")" : "";
            throw new UnusableFileException(role + " " + file + ": no such file" + where);
        } catch (IOException e) {
            throw new UnusableFileException(role + " " + file + ": " + reason(e));
        }
    }

    private static String kind(Path file, BasicFileAttributes attributes) {
        if (attributes.isRegularFile()) {
            return null;
        }
        if (attributes.isDirectory()) {
            return "a directory";
        }
        try {
            // st_mode's file type: the JDK's "unix" view has it, the portable views only say "other".
            int type = (Integer) Files.getAttribute(file, "unix:mode") & S_IFMT;
            return switch (type) {
                case S_IFCHR -> "a character device";
                case S_IFBLK -> "a block device";
                case S_IFIFO -> "a FIFO";
                case S_IFSOCK -> "a socket";
                default -> "not a regular file";
            };
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
            return "not a regular file";
        }
    }
}
