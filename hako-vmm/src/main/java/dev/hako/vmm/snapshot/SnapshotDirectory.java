package dev.hako.vmm.snapshot;

import dev.hako.sys.Errno;
import dev.hako.sys.Stdio;
import dev.hako.vmm.host.HostFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A snapshot on disk: a directory holding {@code memory} (the guest's RAM, byte for byte, as a sparse file: only
 * pages holding a non-zero byte are written, the rest are holes) and {@code machine.json}
 * ({@link MachineDocument}).
 *
 * <p>Written atomically. The new snapshot is written in full into a sibling {@code DIR.tmp-PID}, every file and the
 * directory are fsynced, then it takes the name {@code DIR} in one step: a plain rename when there is no
 * {@code DIR} yet, else Linux's {@code renameat2(RENAME_EXCHANGE)}, which swaps the two directories' names at once
 * (ext4, xfs, btrfs, tmpfs); the parent directory is fsynced and the old snapshot, now at the temporary name,
 * deleted. A crash at any point leaves {@code DIR} either the old complete snapshot or the new complete one; what
 * it can leave besides is a {@code DIR.tmp-PID} of a dead process, which the next write to {@code DIR} deletes.
 * (An exchange instead of the two renames "old away, new in" means there is no moment without a {@code DIR}, so
 * nothing has to be recovered on the way in; instead of a symlink swap it keeps {@code DIR} a plain directory.)
 */
public final class SnapshotDirectory {
    public static final String MEMORY = "memory", DOCUMENT = "machine.json";
    /** The unit of sparseness: the host's and the guest's page. */
    static final int PAGE = 4096;
    private static final int EINVAL = 22;

    private SnapshotDirectory() {}

    /** What a write produced: the bytes of RAM written as data (the rest are holes). */
    public record Written(long dataBytes, long memoryBytes) {}

    /**
     * Writes {@code ram} and {@code document} as the snapshot {@code dir}, replacing a snapshot there atomically.
     * Refuses to replace a {@code dir} that exists and is not a snapshot (nor an empty directory).
     */
    public static Written write(Path dir, byte[] document, MemorySegment ram) throws IOException, SnapshotException {
        checkTarget(dir);
        Path target = dir.toAbsolutePath().normalize();
        Path parent = target.getParent();
        boolean replacing = Files.exists(target);
        removeAbandoned(target);
        Path temporary = parent.resolve(target.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        deleteTree(temporary);
        Files.createDirectory(temporary);
        long data = writeMemory(temporary.resolve(MEMORY), ram);
        writeFile(temporary.resolve(DOCUMENT), document);
        HostFile.syncDirectory(temporary);
        if (replacing) {
            int r = Stdio.exchange(temporary.toString(), target.toString());
            if (r < 0) {
                deleteTree(temporary);
                throw new IOException(r == -EINVAL ? "the file system of " + dir + " cannot swap two directories "
                        + "atomically (renameat2 RENAME_EXCHANGE), which replacing a snapshot needs: write to a new "
                        + "directory" : "replacing " + dir + ": " + Errno.describe(-r));
            }
            HostFile.syncDirectory(parent);
            deleteTree(temporary); // the previous snapshot
        } else {
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
            HostFile.syncDirectory(parent);
        }
        return new Written(data, ram.byteSize());
    }

    /**
     * Refuses a {@code dir} that {@link #write} would refuse: its parent directory missing, or {@code dir} there and
     * not a snapshot (nor an empty directory).
     */
    static void checkTarget(Path dir) throws IOException, SnapshotException {
        Path target = dir.toAbsolutePath().normalize();
        Path parent = target.getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new SnapshotException("snapshot directory " + dir + ": its parent directory does not exist");
        }
        if (Files.exists(target) && !isSnapshotOrEmpty(target)) {
            throw new SnapshotException("snapshot directory " + dir + " exists and is not a snapshot: hako replaces "
                    + "only a snapshot or an empty directory");
        }
    }

    /**
     * Writes the pages of {@code ram} that hold a non-zero byte at their offsets in a new {@code file} of
     * {@code ram}'s size, leaving holes for the rest; fsyncs it. Returns the bytes written.
     */
    static long writeMemory(Path file, MemorySegment ram) throws IOException {
        long size = ram.byteSize();
        MemorySegment zeros = MemorySegment.ofArray(new byte[PAGE]);
        long written = 0;
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            long offset = 0;
            while (offset < size) {
                long pageEnd = Math.min(offset + PAGE, size);
                if (isZero(ram, offset, pageEnd, zeros)) {
                    offset = pageEnd;
                    continue;
                }
                long runEnd = pageEnd; // a run of data pages goes out in one write
                while (runEnd < size && runEnd - offset < (8 << 20)) {
                    long next = Math.min(runEnd + PAGE, size);
                    if (isZero(ram, runEnd, next, zeros)) {
                        break;
                    }
                    runEnd = next;
                }
                ByteBuffer run = ram.asSlice(offset, runEnd - offset).asByteBuffer();
                long position = offset;
                while (run.hasRemaining()) {
                    position += out.write(run, position);
                }
                written += runEnd - offset;
                offset = runEnd;
            }
            if (out.size() < size) { // a hole at the end: the file gets its size from one byte at the last offset
                out.write(ByteBuffer.allocate(1), size - 1);
            }
            out.force(true);
        }
        return written;
    }

    private static boolean isZero(MemorySegment ram, long from, long to, MemorySegment zeros) {
        return MemorySegment.mismatch(ram, from, to, zeros, 0, to - from) < 0;
    }

    private static void writeFile(Path file, byte[] bytes) throws IOException {
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                out.write(buffer);
            }
            out.force(true);
        }
    }

    /** The document of the snapshot {@code dir}, after checking the directory holds a snapshot. */
    static byte[] readDocument(Path dir) throws SnapshotException, IOException {
        if (!Files.isDirectory(dir)) {
            throw new SnapshotException("snapshot " + dir + ": no such directory");
        }
        Path document = dir.resolve(DOCUMENT);
        if (!Files.isRegularFile(document) || !Files.isRegularFile(dir.resolve(MEMORY))) {
            throw new SnapshotException(dir + " is not a snapshot (it needs " + DOCUMENT + " and " + MEMORY + ")");
        }
        return Files.readAllBytes(document);
    }

    private static boolean isSnapshotOrEmpty(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> entries = Files.list(dir)) {
            List<String> names = entries.map(p -> p.getFileName().toString()).sorted().toList();
            return names.isEmpty() || names.equals(List.of(DOCUMENT, MEMORY));
        }
    }

    /** Deletes the temporary directories that writers of {@code target} left when they died. */
    private static void removeAbandoned(Path target) throws IOException {
        String prefix = target.getFileName() + ".tmp-";
        try (Stream<Path> siblings = Files.list(target.getParent())) {
            for (Path p : siblings.toList()) {
                String name = p.getFileName().toString();
                if (name.startsWith(prefix) && name.substring(prefix.length()).matches("[0-9]{1,10}")) {
                    long pid = Long.parseLong(name.substring(prefix.length()));
                    if (pid != ProcessHandle.current().pid() && ProcessHandle.of(pid).isEmpty()) {
                        deleteTree(p);
                    }
                }
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        } catch (NoSuchFileException | FileAlreadyExistsException e) {
            // another cleaner got there first
        }
    }
}
