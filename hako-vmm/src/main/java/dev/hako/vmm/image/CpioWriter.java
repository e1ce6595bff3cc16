package dev.hako.vmm.image;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;

/**
 * Writes a cpio archive in the "newc" format (magic 070701) that the kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst): a 110-byte ASCII header of thirteen 8-digit hex
 * fields, the NUL-terminated name padded to 4 bytes, then the data padded to 4 bytes; "TRAILER!!!" ends it.
 * Every entry gets its own inode number and nlink is 1 (2 for directories), so nothing is taken for a hard link.
 * Names are stored without a leading slash, as {@code cpio -H newc} writes them; parents must come first.
 */
public final class CpioWriter {
    public static final String MAGIC = "070701";
    public static final String TRAILER = "TRAILER!!!";
    public static final int S_IFMT = 0170000;
    public static final int S_IFDIR = 0040000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFLNK = 0120000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFBLK = 0060000;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final Set<String> names = new HashSet<>();
    private int nextInode = 1;
    private boolean finished;

    public CpioWriter directory(String path, int permissions) {
        return entry(path, S_IFDIR | (permissions & 07777), 2, 0, 0, new byte[0]);
    }

    public CpioWriter file(String path, int permissions, byte[] contents) {
        return entry(path, S_IFREG | (permissions & 07777), 1, 0, 0, contents);
    }

    public CpioWriter symlink(String path, String target) {
        return entry(path, S_IFLNK | 0777, 1, 0, 0, target.getBytes(StandardCharsets.UTF_8));
    }

    public CpioWriter charDevice(String path, int permissions, int major, int minor) {
        return entry(path, S_IFCHR | (permissions & 07777), 1, major, minor, new byte[0]);
    }

    public CpioWriter blockDevice(String path, int permissions, int major, int minor) {
        return entry(path, S_IFBLK | (permissions & 07777), 1, major, minor, new byte[0]);
    }

    /** Adds the directories on the way to {@code path} that the archive does not hold yet, mode 0755. */
    public CpioWriter parents(String path) {
        String name = normalize(path);
        for (int slash = name.indexOf('/'); slash > 0; slash = name.indexOf('/', slash + 1)) {
            String parent = name.substring(0, slash);
            if (!names.contains(parent)) {
                directory(parent, 0755);
            }
        }
        return this;
    }

    public boolean contains(String path) {
        return names.contains(normalize(path));
    }

    /** Appends the trailer and returns the archive; the writer accepts no more entries. */
    public byte[] finish() {
        if (!finished) {
            header(0, 0, 1, 0, 0, 0, TRAILER);
            pad();
            finished = true;
        }
        return out.toByteArray();
    }

    private CpioWriter entry(String path, int mode, int nlink, int major, int minor, byte[] data) {
        if (finished) {
            throw new IllegalStateException("archive already finished");
        }
        String name = normalize(path);
        if (name.isEmpty() || name.equals(TRAILER)) {
            throw new IllegalArgumentException("bad cpio entry name '" + path + "'");
        }
        if (!names.add(name)) {
            throw new IllegalArgumentException("duplicate cpio entry " + name);
        }
        int slash = name.lastIndexOf('/');
        if (slash > 0 && !names.contains(name.substring(0, slash))) {
            throw new IllegalArgumentException("cpio entry " + name + " comes before its directory");
        }
        header(nextInode++, mode, nlink, data.length, major, minor, name);
        out.writeBytes(data);
        pad();
        return this;
    }

    private void header(int inode, int mode, int nlink, int fileSize, int rdevMajor, int rdevMinor, String name) {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        StringBuilder h = new StringBuilder(110).append(MAGIC);
        // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
        for (int field : new int[] {inode, mode, 0, 0, nlink, 0, fileSize, 0, 0, rdevMajor, rdevMinor,
                nameBytes.length + 1, 0}) {
            h.append(String.format("%08X", field));
        }
        out.writeBytes(h.toString().getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(nameBytes);
        out.write(0);
        pad();
    }

    private void pad() {
        while (out.size() % 4 != 0) {
            out.write(0);
        }
    }

    private static String normalize(String path) {
        String name = path;
        while (name.startsWith("/")) {
            name = name.substring(1);
        }
        while (name.endsWith("/")) {
            name = name.substring(0, name.length() - 1);
        }
        return name;
    }
}
