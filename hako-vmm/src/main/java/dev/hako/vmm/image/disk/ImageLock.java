package dev.hako.vmm.image.disk;

import dev.hako.sys.HostFile;
import java.io.IOException;

/**
 * QEMU's image locking, so that hako and QEMU (and two hako VMs) keep each other from writing an image another
 * one uses (QEMU's block/file-posix.c, "Posix file locking bytes"). Each block-layer permission {@code i} has two
 * bytes in the file: byte 100+i is locked (shared) by every user holding the permission, byte 200+i by every user
 * that does not let others hold it. Opening checks, after taking its own bytes, that nobody else holds a
 * permission it refuses to share and that nobody else refuses to share one it holds. The locks are
 * open-file-description locks: they go with the file's descriptor, and with the process when it dies.
 *
 * <p>A writer holds consistent-read, write and resize and shares neither write nor resize; a reader holds
 * consistent-read and shares neither write nor resize either (a backing file or a read-only disk must not change
 * underneath). So readers coexist, and a writer excludes everyone else, as {@code qemu-img info} on a running
 * VM's disk shows ("Failed to get shared "write" lock").
 */
final class ImageLock {
    private static final int PERM_BASE = 100, SHARED_BASE = 200;
    private static final int CONSISTENT_READ = 0, WRITE = 1, RESIZE = 3;
    private static final String[] PERM_NAMES = {"consistent read", "write", "write unchanged", "resize"};

    private ImageLock() {}

    static void acquire(HostFile file, boolean writable) throws IOException {
        int held = writable ? bits(CONSISTENT_READ, WRITE, RESIZE) : bits(CONSISTENT_READ);
        int unshared = bits(WRITE, RESIZE);
        for (int i = 0; i < PERM_NAMES.length; i++) {
            if ((held & (1 << i)) != 0) {
                take(file, PERM_BASE + i);
            }
            if ((unshared & (1 << i)) != 0) {
                take(file, SHARED_BASE + i);
            }
        }
        for (int i = 0; i < PERM_NAMES.length; i++) {
            if ((held & (1 << i)) != 0 && file.byteLockedElsewhere(SHARED_BASE + i)) {
                throw inUse(file, "\"" + PERM_NAMES[i] + "\"");
            }
            if ((unshared & (1 << i)) != 0 && file.byteLockedElsewhere(PERM_BASE + i)) {
                throw inUse(file, "shared \"" + PERM_NAMES[i] + "\"");
            }
        }
    }

    /**
     * Turns the writer's lock on {@code file} into a reader's in place, never letting go of it, so no other process
     * can start writing in between: the image being frozen under a snapshot overlay, whose own reader lock on it
     * takes over when the writer closes.
     */
    static void downgrade(HostFile file) throws IOException {
        file.unlockByte(PERM_BASE + WRITE);
        file.unlockByte(PERM_BASE + RESIZE);
    }

    /** Undoes {@link #downgrade}: the writer's lock again, refused when another reader came in meanwhile. */
    static void upgrade(HostFile file) throws IOException {
        acquire(file, true);
    }

    private static void take(HostFile file, int offset) throws IOException {
        if (!file.lockByteShared(offset)) {
            throw new IOException(file.name() + ": locked by another process (byte " + offset
                    + "); is another VM or qemu-img using the image?");
        }
    }

    private static IOException inUse(HostFile file, String lock) {
        return new IOException(file.name() + ": cannot get the " + lock
                + " lock: is another VM or qemu-img using the image?");
    }

    private static int bits(int... permissions) {
        int mask = 0;
        for (int p : permissions) {
            mask |= 1 << p;
        }
        return mask;
    }
}
