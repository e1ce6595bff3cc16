package dev.hako.usermode;

import dev.hako.sys.Libc;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * File names as the guest sees them, turned into what the host's {@code *at} syscalls take. The guest's
 * working directory is a host directory fd (the JVM's own cwd is never changed). With a root, an absolute
 * name is taken under it and {@code ..} never climbs above it, lexically; symbolic links inside the tree
 * are followed by the host and may point out of it (this is a view, not a chroot jail). Names are handled
 * as raw bytes (held in ISO-8859-1 strings), exactly as the kernel does.
 */
final class GuestPaths {
    static final int AT_FDCWD = -100;
    static final int PATH_MAX = 4096;
    private static final long SYS_FCNTL = 72;
    private static final int F_DUPFD_CLOEXEC = 1030;
    private static final long SYS_OPENAT = 257, SYS_READLINKAT = 267, SYS_CLOSE = 3;
    private static final int O_PATH = 0x200000, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000;

    /** Host directory all guest names live under, without a trailing slash; null for the host's namespace. */
    private final String root;
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
    }

    private GuestPaths(String root, String cwd, int cwdHostFd) {
        this.root = root;
        this.cwd = cwd;
        this.cwdHostFd = cwdHostFd;
    }

    /** A copy for a forked child (its own host fd for the same directory), or null if the host has no fd left. */
    synchronized GuestPaths copy(MemorySegment scratch) {
        long fd = Libc.syscall(SYS_FCNTL, cwdHostFd, F_DUPFD_CLOEXEC, 3, 0, 0, 0);
        return fd < 0 ? null : new GuestPaths(root, cwd, (int) fd);
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
     * string; returns the host directory fd to pass with it, or -errno.
     */
    long resolve(FdTable fds, long dirfd, String name, MemorySegment out) {
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
        String hostName = name;
        if (root != null && !name.isEmpty()) {
            if (name.startsWith("/")) {
                hostName = root + normalize(name);
            } else if ((int) dirfd == AT_FDCWD) {
                hostName = root + normalize(cwd + "/" + name);
            } else {
                String dir = hostPathOf(hostDir, out);
                if (dir != null && (dir.equals(root) || dir.startsWith(root + "/"))) {
                    String guestDir = dir.substring(root.length());
                    hostName = root + normalize(guestDir + "/" + name);
                }
            }
            if (name.endsWith("/") && !hostName.endsWith("/")) {
                hostName += "/";
            }
        }
        return putCString(hostName, out) ? hostDir : -Errno.ENAMETOOLONG;
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
        } else if (hostPath.equals(root) || !hostPath.startsWith(root + "/")) {
            cwd = "/";
        } else {
            cwd = hostPath.substring(root.length());
        }
        return 0;
    }

    void close() {
        Libc.syscall(SYS_CLOSE, cwdHostFd, 0, 0, 0, 0, 0);
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
