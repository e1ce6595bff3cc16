package dev.hako.usermode;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Interpreter;
import dev.hako.sys.Libc;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * execve and execveat: the calling process gets a new image of a static ELF program (the program hako user
 * runs), or of the interpreter a {@code #!} script names (up to four levels, as Linux's binfmt_script
 * recursion allows a few). Every other thread of the process ends first; fds marked close-on-exec are
 * closed; handled signals go back to their default action (ignored ones stay ignored); the mask and
 * pending signals are kept; a vfork parent resumes. {@code /proc/self/exe} names the running program.
 * Dynamically linked programs are refused with ENOEXEC (no ld.so is loaded).
 */
final class ExecSyscall {
    static final int EXECVE = 59, EXECVEAT = 322;
    private static final long SYS_FACCESSAT = 269, SYS_OPENAT = 257, SYS_READ = 0, SYS_CLOSE = 3;
    private static final int X_OK = 1, O_RDONLY = 0, O_CLOEXEC = 0x80000;
    private static final int MAX_ARGS = 0x8000, MAX_ARG_BYTES = 2 << 20, MAX_SCRIPT_DEPTH = 4;
    private static final String PROC_SELF_EXE = "/proc/self/exe";

    private ExecSyscall() {}

    static void register(SyscallTable t) {
        t.add(EXECVE, (p, path, argv, envp, a3, a4, a5) -> execve(p, GuestPaths.AT_FDCWD, path, argv, envp));
        t.add(EXECVEAT, (p, dirfd, path, argv, envp, flags, a5) -> execve(p, dirfd, path, argv, envp));
    }

    private static long execve(GuestProcess p, long dirfd, long pathAddr, long argvAddr, long envpAddr) {
        String path = p.pathName(pathAddr);
        if (path == null) {
            return p.pathError();
        }
        List<String> argv = new ArrayList<>();
        List<String> env = new ArrayList<>();
        long error = strings(p, argvAddr, argv);
        if (error == 0) {
            error = strings(p, envpAddr, env);
        }
        if (error != 0) {
            return error;
        }
        if (path.isEmpty()) {
            return -Errno.ENOENT;
        }
        ElfImage image = null;
        String program = path;
        for (int depth = 0; image == null; depth++) {
            if (depth > MAX_SCRIPT_DEPTH) {
                return -Errno.ELOOP;
            }
            String name = program.equals(PROC_SELF_EXE) ? p.exePath : program;
            MemorySegment buffer = p.pathA();
            long hostDir = p.paths.resolve(p.fds, depth == 0 ? dirfd : GuestPaths.AT_FDCWD, name, true,
                    buffer);
            if (hostDir < 0) {
                return hostDir;
            }
            long r = Libc.syscall(SYS_FACCESSAT, hostDir, buffer.address(), X_OK, 0, 0, 0);
            if (r < 0) {
                return r;
            }
            String[] script = scriptLine(hostDir, buffer, p.scratch());
            if (script != null) {
                List<String> next = new ArrayList<>();
                next.add(script[0]);
                if (script[1] != null) {
                    next.add(script[1]);
                }
                next.add(program);
                next.addAll(argv.subList(Math.min(1, argv.size()), argv.size()));
                argv = next;
                program = script[0];
                continue;
            }
            try {
                image = ElfImage.read(hostPath(hostDir, buffer));
            } catch (ElfException e) {
                return e.missing() ? -Errno.ENOENT : -Errno.ENOEXEC;
            }
            p.exePath = p.paths.absolute(name);
        }
        replaceImage(p, image, program, argv, env);
        return 0;
    }

    /** Reads a NULL-terminated array of guest string pointers; 0 or -EFAULT / -E2BIG. */
    private static long strings(GuestProcess p, long array, List<String> out) {
        if (array == 0) {
            return 0;
        }
        long total = 0;
        for (int k = 0; ; k++) {
            if (k >= MAX_ARGS) {
                return -Errno.E2BIG;
            }
            long slot = array + 8L * k;
            if (p.in(slot, 8) < 0) {
                return -Errno.EFAULT;
            }
            long s = p.space.readLong(slot);
            if (s == 0) {
                return 0;
            }
            byte[] b = p.space.readCString(s, MAX_ARG_BYTES);
            if (b == null) {
                return p.space.tooLong() ? -Errno.E2BIG : -Errno.EFAULT;
            }
            total += b.length + 1;
            if (total > MAX_ARG_BYTES) {
                return -Errno.E2BIG;
            }
            out.add(new String(b, StandardCharsets.ISO_8859_1));
        }
    }

    /** A host path Java can open for the host name in {@code buffer} relative to {@code hostDir}. */
    private static Path hostPath(long hostDir, MemorySegment buffer) {
        String name = new String(GuestPaths.cString(buffer), StandardCharsets.UTF_8);
        if (name.startsWith("/") || hostDir == GuestPaths.AT_FDCWD) {
            return Path.of(name);
        }
        return Path.of("/proc/self/fd/" + hostDir + "/" + name);
    }

    /** The interpreter and optional argument of a {@code #!} line, or null if the file is not a script. */
    private static String[] scriptLine(long hostDir, MemorySegment name, MemorySegment scratch) {
        long fd = Libc.syscall(SYS_OPENAT, hostDir, name.address(), O_RDONLY | O_CLOEXEC, 0, 0, 0);
        if (fd < 0) {
            return null;
        }
        long n;
        try {
            n = Libc.syscall(SYS_READ, fd, scratch.address(), 256, 0, 0, 0);
        } finally {
            Libc.syscall(SYS_CLOSE, fd, 0, 0, 0, 0, 0);
        }
        if (n < 2 || scratch.get(ValueLayout.JAVA_BYTE, 0) != '#' || scratch.get(ValueLayout.JAVA_BYTE, 1) != '!') {
            return null;
        }
        byte[] head = new byte[(int) n];
        MemorySegment.copy(scratch, ValueLayout.JAVA_BYTE, 0, head, 0, head.length);
        String line = new String(head, 2, head.length - 2, StandardCharsets.ISO_8859_1);
        int end = line.indexOf('\n');
        line = (end >= 0 ? line.substring(0, end) : line).strip();
        if (line.isEmpty()) {
            return null;
        }
        int space = line.indexOf(' ') >= 0 ? line.indexOf(' ') : line.indexOf('\t');
        if (space < 0) {
            return new String[] {line, null};
        }
        String arg = line.substring(space + 1).strip();
        return new String[] {line.substring(0, space), arg.isEmpty() ? null : arg};
    }

    /** The point of no return: other threads end, the image is replaced, the caller runs the new program. */
    private static void replaceImage(GuestProcess p, ElfImage image, String program, List<String> argv,
            List<String> env) {
        GuestThread self = GuestThread.current();
        for (GuestThread other : p.threadList()) {
            if (other != self) {
                other.kill();
            }
        }
        for (GuestThread other : p.threadList()) {
            if (other != self) {
                try {
                    other.join(5000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        AddressSpace space = new AddressSpace();
        String base = program.substring(program.lastIndexOf('/') + 1);
        p.name = base.isEmpty() ? program : base;
        Cpu cpu = ProgramLoader.load(p, space, image, argv, env);
        Interpreter interpreter = ProgramLoader.newInterpreter(cpu);
        p.fds.closeOnExec();
        for (int sig = 1; sig <= 64; sig++) {
            if (p.sigactions[sig * 4] != SignalDelivery.SIG_IGN) {
                p.sigactions[sig * 4] = SignalDelivery.SIG_DFL;
                p.sigactions[sig * 4 + 1] = 0;
                p.sigactions[sig * 4 + 2] = 0;
                p.sigactions[sig * 4 + 3] = 0;
            }
        }
        self.altStack[0] = 0;
        self.altStack[1] = SignalFrame.SS_DISABLE;
        self.altStack[2] = 0;
        self.clearChildTid = 0;
        p.space = space;
        self.use(space, cpu, interpreter);
        p.releaseVforkParent();
    }
}
