package dev.hako.usermode;


import dev.hako.soft.exec.Cpu;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Entry point of {@code hako user}: runs a static x86-64 Linux program on the soft CPU, its syscalls carried
 * out on the host (see {@link SyscallTable} for what is and is not provided).
 *
 * <p>Each guest process has its own address space (64 GiB, guest address = offset in one host reservation;
 * layout in {@link ProgramLoader}); each guest thread runs on its own Java thread. With a root directory, the
 * program and every file name the program uses are taken under it.
 *
 * <p>hako user ends when the initial process ends; processes still running then are killed. Exit status:
 * the initial process's own; 128 + signal if a signal killed it (a fault it had no handler for: SIGSEGV for
 * #PF and #GP, SIGBUS for #SS, SIGILL for #UD, SIGFPE for #DE, SIGTRAP for INT3, INT1 and single-steps, with
 * one line on stderr); 127 if the program file is missing, 126 if it cannot be run, 125 for an internal error. With {@code HAKO_STATS=1} in
 * the environment, the initial thread's instruction count and the run time are printed on stderr; with
 * {@code HAKO_STRACE=1}, every syscall (thread id, name, first arguments, result).
 */
public final class UserMode {
    /** Host fds the guest's stdin, stdout and stderr are copies of. */
    public record Stdio(int in, int out, int err) {
        public static final Stdio INHERIT = new Stdio(0, 1, 2);
    }

    private UserMode() {}

    /**
     * Runs {@code argv[0]} with {@code argv}, file paths resolved under {@code root} when it is not null;
     * returns the program's exit status (128 + signal when it dies of a fault).
     */
    public static int run(Path root, List<String> argv) {
        return run(root, argv, Stdio.INHERIT, System.err);
    }

    /** As {@link #run(Path, List)}, with the guest's standard fds copied from {@code stdio} and messages to {@code log}. */
    public static int run(Path root, List<String> argv, Stdio stdio, PrintStream log) {
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("no program given");
        }
        String rootBytes = null;
        if (root != null) {
            try {
                rootBytes = GuestPaths.bytes(root.toRealPath().toString());
            } catch (IOException e) {
                log.println("hako: --root " + root + ": " + e.getMessage());
                return 126;
            }
        }
        String program = argv.get(0);
        String exePath;
        Path hostProgram;
        if (rootBytes != null && !GuestPaths.hostConfines()) {
            log.println("hako: --root needs the host kernel's openat2 (Linux 5.6 or later) to confine names");
            return 126;
        }
        if (rootBytes != null) {
            exePath = GuestPaths.normalize("/" + GuestPaths.bytes(program));
            String confined = GuestPaths.hostNameUnder(rootBytes, GuestPaths.bytes("/" + program));
            if (confined == null) {
                log.println("hako: " + root.resolve(exePath.substring(1)) + ": no such file");
                return 127;
            }
            hostProgram = Path.of(new String(confined.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8));
        } else {
            hostProgram = Path.of(program);
            exePath = GuestPaths.bytes(hostProgram.toAbsolutePath().normalize().toString());
        }
        ElfImage image;
        try {
            image = ElfImage.read(hostProgram);
        } catch (ElfException e) {
            log.println("hako: " + e.getMessage());
            return e.missing() ? 127 : 126;
        }
        String name = Path.of(program).getFileName() == null ? program : Path.of(program).getFileName().toString();
        ProcessTable table = new ProcessTable(rootBytes, log);
        AddressSpace space = new AddressSpace();
        GuestProcess process = null;
        try {
            FdTable fds = new FdTable();
            fds.inherit(0, stdio.in());
            fds.inherit(1, stdio.out());
            fds.inherit(2, stdio.err());
            GuestPaths paths;
            try (Arena arena = Arena.ofConfined()) {
                paths = new GuestPaths(rootBytes, arena.allocate(2 * GuestPaths.PATH_MAX + 4096));
            }
            int pid = table.allocate(true);
            process = new GuestProcess(table, pid, name, exePath, space, fds, paths);
            List<String> env = new ArrayList<>();
            for (Map.Entry<String, String> e : System.getenv().entrySet()) {
                env.add(GuestPaths.bytes(e.getKey() + "=" + e.getValue()));
            }
            List<String> args = new ArrayList<>();
            for (String a : argv) {
                args.add(GuestPaths.bytes(a));
            }
            Cpu cpu = ProgramLoader.load(process, space, image, args, env);
            GuestThread thread = new GuestThread(process, pid, space, cpu, ProgramLoader.newInterpreter(cpu));
            process.addThread(thread);
            table.add(process);
            return start(table, process, thread);
        } finally {
            space.releaseUnused();
        }
    }

    private static int start(ProcessTable table, GuestProcess p, GuestThread thread) {
        boolean stats = "1".equals(System.getenv("HAKO_STATS"));
        long started = System.nanoTime();
        thread.start();
        int status;
        try {
            status = table.awaitInitial(p);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.exitGroup(SignalInfo.SIGKILL);
            return 128 + SignalInfo.SIGKILL;
        }
        if (stats) {
            double seconds = (System.nanoTime() - started) / 1e9;
            long instructions = thread.cpu().instructions;
            p.log.printf("hako: %d guest instructions in %.3f s (%.1f M instructions/s)%n", instructions, seconds,
                    instructions / seconds / 1e6);
        }
        if (status == GuestProcess.INTERNAL_ERROR) {
            return 125;
        }
        return (status & 0x7F) != 0 ? 128 + (status & 0x7F) : (status >> 8) & 0xFF;
    }
}
