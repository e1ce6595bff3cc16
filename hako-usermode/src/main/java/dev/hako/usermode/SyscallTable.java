package dev.hako.usermode;

import dev.hako.soft.exec.Cpu;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * Syscall number to handler, for one process; SYSCALL lands in {@link #syscall}. A number without a handler
 * returns {@code -ENOSYS}, as Linux does for a syscall it lacks, and is reported once on stderr.
 *
 * <p>Not provided: clone, fork, vfork, execve, wait4 (one process, one thread: they return ENOSYS), signal
 * delivery (dispositions are recorded but no handler is ever called; see {@link SignalSyscalls}), sockets.
 */
final class SyscallTable implements Cpu.SyscallHandler {
    static final int MAX = 512;
    private static final String[] NAMES = loadNames();

    private final Syscall[] handlers = new Syscall[MAX];
    private final boolean[] reported = new boolean[MAX];
    private final GuestProcess process;

    SyscallTable(GuestProcess process) {
        this.process = process;
        FileSyscalls.register(this);
        PathSyscalls.register(this);
        MemorySyscalls.register(this);
        ProcessSyscalls.register(this);
        SignalSyscalls.register(this);
        TimeSyscalls.register(this);
        PollSyscalls.register(this);
    }

    void add(int nr, Syscall handler) {
        if (handlers[nr] != null) {
            throw new IllegalStateException("syscall " + nr + " registered twice");
        }
        handlers[nr] = handler;
    }

    boolean has(int nr) {
        return handlers[nr] != null;
    }

    static String name(long nr) {
        return nr >= 0 && nr < MAX && NAMES[(int) nr] != null ? NAMES[(int) nr] : "?";
    }

    @Override
    public void syscall(Cpu cpu) {
        long nr = cpu.r[Cpu.RAX];
        long[] r = cpu.r;
        Syscall handler = nr >= 0 && nr < MAX ? handlers[(int) nr] : null;
        long result;
        if (handler == null) {
            result = unsupported(nr);
        } else {
            result = handler.call(process, r[Cpu.RDI], r[Cpu.RSI], r[Cpu.RDX], r[10], r[8], r[9]);
            process.paths.releaseResolved();
        }
        r[Cpu.RAX] = result;
        if (process.space.codeMappingChanged) {
            process.space.codeMappingChanged = false;
            process.interpreter.flushCode();
        }
    }

    private long unsupported(long nr) {
        int slot = nr >= 0 && nr < MAX ? (int) nr : 0;
        if (!reported[slot]) {
            reported[slot] = true;
            process.log.println("hako: unsupported syscall " + nr + " (" + name(nr) + ")");
        }
        return -Errno.ENOSYS;
    }

    private static String[] loadNames() {
        String[] names = new String[MAX];
        try (InputStream in = SyscallTable.class.getResourceAsStream("syscall-names.txt")) {
            if (in == null) {
                return names;
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line; (line = reader.readLine()) != null; ) {
                if (line.startsWith("#") || line.isBlank()) {
                    continue;
                }
                String[] parts = line.trim().split("\\s+");
                int nr = Integer.parseInt(parts[0]);
                if (nr < MAX) {
                    names[nr] = parts[1];
                }
            }
        } catch (IOException e) {
            // names are only for messages
        }
        return names;
    }
}
