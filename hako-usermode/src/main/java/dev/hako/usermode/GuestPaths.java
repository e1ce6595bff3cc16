package dev.hako.usermode;

import dev.hako.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * File names as the guest sees them, turned into what the host's {@code *at} syscalls take. The guest's
 * working directory is a host directory fd (the JVM's own cwd is never changed). Names are handled as raw bytes
 * (held in ISO-8859-1 strings), exactly as the kernel does.
 *
 * <p>With a root, the guest's names are confined to it as a chroot confines them: the directory part of a name
 * is resolved by the host kernel's {@code openat2} with {@code RESOLVE_IN_ROOT} from an fd of the root (so
 * absolute symbolic links are taken under the root and {@code ..} stops at it), and a symbolic link in the last
 * component, when the syscall would follow it, is read and resolved the same way here, up to 40 links
 * ({@code ELOOP}), so the host call that finally runs is handed a directory inside the root and a last component
 * that is not a link. Magic links ({@code /proc/self/root}, {@code /proc/self/fd/N}) are never followed. A host
 * directory fd opened for one syscall is closed by {@link #releaseResolved} after it. Not confined: fds the
 * program inherits (its standard input and output), and changes other host processes make to the tree while a
 * name is resolved.
 */
final class GuestPaths {
    static final int AT_FDCWD = -100;
    static final int PATH_MAX = 4096;
    private static final long SYS_FCNTL = 72;
    private static final int F_DUPFD_CLOEXEC = 1030;
    private static final long SYS_OPENAT = 257, SYS_READLINKAT = 267, SYS_CLOSE = 3, SYS_OPENAT2 = 437;
    private static final int O_PATH = 0x200000, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000;
    private static final long RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_IN_ROOT = 0x10;
    private static final int OPEN_HOW_SIZE = 24;
    /** Symbolic links one name may pass through, as Linux's MAXSYMLINKS. */
    private static final int MAX_SYMLINKS = 40;
    /** openat2 answers EAGAIN when a rename raced with a ".." it was resolving; it may simply be tried again. */
    private static final int OPENAT2_ATTEMPTS = 8;

    /** Host directory all guest names live under, without a trailing slash; null for the host's namespace. */
    private final String root;
    private final int rootFd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment openHow = arena.allocate(OPEN_HOW_SIZE, 8);
    private final MemorySegment work = arena.allocate(2 * PATH_MAX + 64, 16);
    /** Directory fds opened to resolve the current syscall's names. */
    private final int[] resolved = new int[2];
    private int resolvedCount;
    private String cwd;
    private int cwdHostFd = -1;

    GuestPaths(String root, MemorySegment scratch) {
        this.root = root;
        long fd = openDirectory(AT_FDCWD, root == null ? "." : root, scratch);
        if (fd < 0) {
            throw new IllegalStateException("cannot open the working directory: errno " + -fd);
        }
        cwdHostFd = (int) fd;
        cwd = root == null ? hostPathOf(cwdHostFd, scratch) : "/";
        if (root == null) {
            rootFd = -1;
        } else {
            long r = openDirectory(AT_FDCWD, root, scratch);
            if (r < 0) {
                throw new IllegalStateException("cannot open the root directory: errno " + -r);
            }
            rootFd = (int) r;
        }
    }

    private GuestPaths(String root, int rootFd, String cwd, int cwdHostFd) {
        this.root = root;
        this.rootFd = rootFd;
        this.cwd = cwd;
        this.cwdHostFd = cwdHostFd;
    }

    /**
     * A copy for a forked child (its own host fds for the same working and root directories), or null if the
     * host has no fd left.
     */
    synchronized GuestPaths copy(MemorySegment scratch) {
        long fd = Libc.syscall(SYS_FCNTL, cwdHostFd, F_DUPFD_CLOEXEC, 3, 0, 0, 0);
        if (fd < 0) {
            return null;
        }
        long rootCopy = -1;
        if (rootFd >= 0) {
            rootCopy = Libc.syscall(SYS_FCNTL, rootFd, F_DUPFD_CLOEXEC, 3, 0, 0, 0);
            if (rootCopy < 0) {
                Libc.syscall(SYS_CLOSE, fd, 0, 0, 0, 0, 0);
                return null;
            }
        }
        return new GuestPaths(root, (int) rootCopy, cwd, (int) fd);
    }

    static String bytes(String javaString) {
        return new String(javaString.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    }

    String cwd() {
        return cwd;
    }

    int cwdHostFd() {
        return cwdHostFd;
    }

    /** The guest-visible absolute form of a guest name (relative names against the working directory). */
    String absolute(String name) {
        return normalize(name.startsWith("/") ? name : cwd + "/" + name);
    }

    /**
     * Writes the host name for guest {@code name} (relative to guest {@code dirfd}) into {@code out} as a C
     * string; returns the host directory fd to pass with it, or -errno. {@code follow} says whether the syscall
     * follows a symbolic link in the last component (a name ending in "/" is always followed, as the kernel
     * does for most calls).
     */
    long resolve(FdTable fds, long dirfd, String name, boolean follow, MemorySegment out) {
        int hostDir;
        if ((int) dirfd == AT_FDCWD) {
            hostDir = cwdHostFd;
        } else {
            hostDir = fds.host(dirfd);
            if (hostDir < 0 && !name.startsWith("/")) {
                return -Errno.EBADF;
            }
            if (hostDir < 0) {
                hostDir = cwdHostFd;
            }
        }
        if (root == null || name.isEmpty()) {
            return putCString(name, out) ? hostDir : -Errno.ENAMETOOLONG;
        }
        String path;
        if (name.startsWith("/")) {
            path = name;
        } else if ((int) dirfd == AT_FDCWD) {
            path = cwd + "/" + name;
        } else {
            String dir = guestPathOf(hostPathOf(hostDir, work));
            if (dir == null) {
                return -Errno.ENOTDIR;
            }
            path = dir + "/" + name;
        }
        return resolveInRoot(path, follow, out);
    }

    /** {@link #resolve} of the guest path {@code path} (absolute, or relative to the root) under the root. */
    private long resolveInRoot(String path, boolean follow, MemorySegment out) {
        boolean directory = path.endsWith("/");
        for (int links = 0; ; links++) {
            int end = path.length();
            while (end > 0 && path.charAt(end - 1) == '/') {
                end--;
            }
            int slash = path.lastIndexOf('/', end - 1);
            String parent = slash < 0 ? "" : path.substring(0, slash + 1);
            String last = path.substring(slash + 1, end);
            if (last.isEmpty() || last.equals(".") || last.equals("..")) {
                parent = path;
                last = ".";
            }
            long dir = openInRoot(parent);
            if (dir < 0) {
                return dir;
            }
            if ((follow || directory) && !last.equals(".")) {
                String target = readLink((int) dir, last);
                if (target != null) {
                    Libc.syscall(SYS_CLOSE, dir, 0, 0, 0, 0, 0);
                    if (links == MAX_SYMLINKS) {
                        return -Errno.ELOOP;
                    }
                    if (target.isEmpty()) {
                        return -Errno.ENOENT;
                    }
                    path = (target.startsWith("/") ? target : parent + target) + (directory ? "/" : "");
                    continue;
                }
            }
            if (resolvedCount == resolved.length || !putCString(directory ? last + "/" : last, out)) {
                Libc.syscall(SYS_CLOSE, dir, 0, 0, 0, 0, 0);
                return -Errno.ENAMETOOLONG;
            }
            resolved[resolvedCount++] = (int) dir;
            return dir;
        }
    }

    /**
     * The host name of the file guest name {@code guestName} (absolute) means under host directory {@code root},
     * its symbolic links resolved under the root; null when it cannot be resolved.
     */
    static String hostNameUnder(String root, String guestName) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment scratch = a.allocate(2 * PATH_MAX + 64, 16);
            GuestPaths paths = new GuestPaths(root, scratch);
            try {
                long dir = paths.resolveInRoot(guestName, true, scratch);
                if (dir < 0) {
                    return null;
                }
                String last = scratch.getString(0, StandardCharsets.ISO_8859_1);
                String dirName = hostPathOf((int) dir, scratch);
                return dirName == null ? null : dirName + "/" + last;
            } finally {
                paths.close();
            }
        }
    }

    /** Whether the host kernel has openat2 (Linux 5.6 and later), which confining names to a root needs. */
    static boolean hostConfines() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment how = a.allocate(OPEN_HOW_SIZE, 8);
            how.set(ValueLayout.JAVA_LONG, 0, O_PATH | O_DIRECTORY | O_CLOEXEC);
            how.set(ValueLayout.JAVA_LONG, 16, RESOLVE_IN_ROOT);
            long fd = Libc.syscall(SYS_OPENAT2, AT_FDCWD, a.allocateFrom("/").address(), how.address(),
                    OPEN_HOW_SIZE, 0, 0);
            if (fd >= 0) {
                Libc.syscall(SYS_CLOSE, fd, 0, 0, 0, 0, 0);
            }
            return fd != -Errno.ENOSYS;
        }
    }

    /** The directory {@code path} names under the root, as an O_PATH fd, or -errno. */
    private long openInRoot(String path) {
        int from = 0;
        while (from < path.length() && path.charAt(from) == '/') {
            from++;
        }
        String relative = from == path.length() ? "." : path.substring(from);
        if (!putCString(relative, work)) {
            return -Errno.ENAMETOOLONG;
        }
        openHow.set(ValueLayout.JAVA_LONG, 0, O_PATH | O_DIRECTORY | O_CLOEXEC);
        openHow.set(ValueLayout.JAVA_LONG, 8, 0);
        openHow.set(ValueLayout.JAVA_LONG, 16, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        long fd = -Errno.EAGAIN;
        for (int attempt = 0; attempt < OPENAT2_ATTEMPTS && fd == -Errno.EAGAIN; attempt++) {
            fd = Libc.syscall(SYS_OPENAT2, rootFd, work.address(), openHow.address(), OPEN_HOW_SIZE, 0, 0);
        }
        return fd;
    }

    /** The target of symbolic link {@code name} in host directory {@code dir}, or null when it is not a link. */
    private String readLink(int dir, String name) {
        if (!putCString(name, work)) {
            return null;
        }
        MemorySegment target = work.asSlice(PATH_MAX + 32);
        long n = Libc.syscall(SYS_READLINKAT, dir, work.address(), target.address(), PATH_MAX, 0, 0);
        if (n < 0) {
            return null;
        }
        byte[] b = new byte[(int) n];
        MemorySegment.copy(target, ValueLayout.JAVA_BYTE, 0, b, 0, (int) n);
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    /** Closes the directory fds {@link #resolve} opened for the syscall that just ended. */
    void releaseResolved() {
        while (resolvedCount > 0) {
            Libc.syscall(SYS_CLOSE, resolved[--resolvedCount], 0, 0, 0, 0, 0);
        }
    }

    /** The guest's name for host path {@code hostPath}, or null when it is not under the root. */
    private String guestPathOf(String hostPath) {
        if (hostPath == null) {
            return null;
        }
        if (hostPath.equals(root)) {
            return "/";
        }
        String prefix = root.endsWith("/") ? root : root + "/";
        return hostPath.startsWith(prefix) ? hostPath.substring(prefix.length() - 1) : null;
    }

    /** Changes the working directory to the already resolved host name in {@code hostName}. */
    long changeDirectory(long hostDir, MemorySegment hostName, MemorySegment scratch) {
        long fd = Libc.syscall(SYS_OPENAT, hostDir, hostName.address(), O_PATH | O_DIRECTORY | O_CLOEXEC, 0, 0, 0);
        if (fd < 0) {
            return fd;
        }
        return adoptWorkingDirectory((int) fd, scratch);
    }

    /** Makes host directory fd {@code fd} (owned by us) the working directory. */
    long adoptWorkingDirectory(int fd, MemorySegment scratch) {
        String hostPath = hostPathOf(fd, scratch);
        if (hostPath == null) {
            Libc.syscall(SYS_CLOSE, fd, 0, 0, 0, 0, 0);
            return -Errno.ENOENT;
        }
        Libc.syscall(SYS_CLOSE, cwdHostFd, 0, 0, 0, 0, 0);
        cwdHostFd = fd;
        if (root == null) {
            cwd = hostPath;
        } else {
            String guest = guestPathOf(hostPath);
            cwd = guest == null ? "/" : guest;
        }
        return 0;
    }

    void close() {
        releaseResolved();
        Libc.syscall(SYS_CLOSE, cwdHostFd, 0, 0, 0, 0, 0);
        if (rootFd >= 0) {
            Libc.syscall(SYS_CLOSE, rootFd, 0, 0, 0, 0, 0);
        }
        arena.close();
    }

    /** Lexical normalization of an absolute name: no ".", "..", or repeated slashes; ".." stops at "/". */
    static String normalize(String absolute) {
        String[] parts = absolute.split("/");
        String[] stack = new String[parts.length];
        int depth = 0;
        for (String part : parts) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                if (depth > 0) {
                    depth--;
                }
                continue;
            }
            stack[depth++] = part;
        }
        if (depth == 0) {
            return "/";
        }
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < depth; k++) {
            sb.append('/').append(stack[k]);
        }
        return sb.toString();
    }

    /** The NUL-terminated bytes at the start of {@code buffer}. */
    static byte[] cString(MemorySegment buffer) {
        int n = 0;
        while (n < buffer.byteSize() && buffer.get(ValueLayout.JAVA_BYTE, n) != 0) {
            n++;
        }
        byte[] b = new byte[n];
        MemorySegment.copy(buffer, ValueLayout.JAVA_BYTE, 0, b, 0, n);
        return b;
    }

    static boolean putCString(String s, MemorySegment out) {
        int n = s.length();
        if (n + 1 > out.byteSize()) {
            return false;
        }
        for (int k = 0; k < n; k++) {
            out.set(ValueLayout.JAVA_BYTE, k, (byte) s.charAt(k));
        }
        out.set(ValueLayout.JAVA_BYTE, n, (byte) 0);
        return true;
    }

    private long openDirectory(int dirfd, String name, MemorySegment scratch) {
        putCString(bytes(name), scratch);
        return Libc.syscall(SYS_OPENAT, dirfd, scratch.address(), O_PATH | O_DIRECTORY | O_CLOEXEC, 0, 0, 0);
    }

    /** The host's name for an open fd (from /proc/self/fd), or null. */
    static String hostPathOf(int hostFd, MemorySegment scratch) {
        putCString("/proc/self/fd/" + hostFd, scratch);
        long linkName = scratch.address();
        MemorySegment target = scratch.asSlice(64);
        long n = Libc.syscall(SYS_READLINKAT, AT_FDCWD, linkName, target.address(), target.byteSize() - 1, 0, 0);
        if (n < 0) {
            return null;
        }
        byte[] b = new byte[(int) n];
        MemorySegment.copy(target, ValueLayout.JAVA_BYTE, 0, b, 0, (int) n);
        return new String(b, StandardCharsets.ISO_8859_1);
    }
}
