package dev.hako.usermode;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Interpreter;
import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.Mmu;
import dev.hako.sys.Libc;
import java.io.IOException;
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
 * <p>Guest address space (64 GiB, guest address = offset in one host reservation): an ET_EXEC program at its
 * own addresses, a static-pie at {@link #PIE_BASE}; the heap (brk) right above the image; mmaps placed
 * top-down below the stack; an 8 MiB stack ending at {@link #STACK_TOP}. With a root directory, the program
 * and every file name the program uses are taken under it.
 *
 * <p>Exit status: the program's own; 128 + signal if it died of a fault (SIGSEGV for #PF and #GP, SIGILL for
 * #UD, SIGFPE for #DE) or a signal it sent itself; 127 if the program file is missing and 126 if it cannot
 * be run. With {@code HAKO_STATS=1} in the environment, the guest instruction count and run time are printed
 * on stderr.
 */
public final class UserMode {
    static final long PIE_BASE = 0x4000_0000L;
    static final long STACK_TOP = AddressSpace.SIZE - 0x10000;
    static final long STACK_SIZE = 8L << 20;
    /** Lowest address for mmaps: the heap may grow up to here. */
    static final long MMAP_LOW = 0x2_0000_0000L;
    /** Gap kept free between the mmap area and the stack. */
    private static final long STACK_GAP = 1L << 30;

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
        AddressSpace space = new AddressSpace();
        GuestProcess process = null;
        try {
            process = new GuestProcess(name, exePath, space, rootBytes, log);
            return start(process, image, argv, stdio);
        } finally {
            if (process != null) {
                process.release();
            }
            space.release();
        }
    }

    private static int start(GuestProcess p, ElfImage image, List<String> argv, Stdio stdio) {
        AddressSpace space = p.space;
        long bias = image.type == ElfImage.ET_DYN ? PIE_BASE - image.lowest : 0;
        image.load(space, bias);
        p.brkStart = p.brk = bias + image.highest;
        p.mmapLow = Math.max(MMAP_LOW, p.brkStart + (1L << 30));
        long stackBottom = STACK_TOP - STACK_SIZE;
        p.mmapHigh = stackBottom - STACK_GAP;
        space.map(stackBottom, STACK_SIZE, AddressSpace.READ | AddressSpace.WRITE);

        Cpu cpu = new Cpu(new Mmu(space.ram, space));
        space.attach(cpu.mem);
        Interpreter interpreter = new Interpreter(cpu, (c, fault, interp) -> died(p, c, fault));
        p.cpu = cpu;
        p.interpreter = interpreter;
        cpu.syscallHandler = new SyscallTable(p);
        p.fds.inherit(0, stdio.in());
        p.fds.inherit(1, stdio.out());
        p.fds.inherit(2, stdio.err());

        List<String> env = new ArrayList<>();
        for (Map.Entry<String, String> e : System.getenv().entrySet()) {
            env.add(e.getKey() + "=" + e.getValue());
        }
        long entry = bias + image.entry;
        InitialStack.AuxInfo aux = new InitialStack.AuxInfo(image.phdrAddress == 0 ? 0 : bias + image.phdrAddress,
                image.phnum, entry, hwcap(cpu), Libc.syscall(102, 0, 0, 0, 0, 0, 0),
                Libc.syscall(107, 0, 0, 0, 0, 0, 0), Libc.syscall(104, 0, 0, 0, 0, 0, 0),
                Libc.syscall(108, 0, 0, 0, 0, 0, 0));
        cpu.r[Cpu.RSP] = InitialStack.build(space, STACK_TOP, argv, env, p.exePath, aux);
        cpu.rip = entry;

        boolean stats = "1".equals(System.getenv("HAKO_STATS"));
        long started = System.nanoTime();
        try {
            interpreter.run();
        } catch (RuntimeException | StackOverflowError e) {
            p.log.printf("hako: %s: internal error at rip %#x: %s%n", p.name, cpu.rip, e);
            e.printStackTrace(p.log);
            return 125;
        } finally {
            if (stats) {
                double seconds = (System.nanoTime() - started) / 1e9;
                p.log.printf("hako: %d guest instructions in %.3f s (%.1f M instructions/s)%n", cpu.instructions,
                        seconds, cpu.instructions / seconds / 1e6);
            }
        }
        return p.exitStatus();
    }

    /** AT_HWCAP: CPUID leaf 1 EDX of the soft CPU, as Linux reports the boot CPU's. */
    private static long hwcap(Cpu cpu) {
        cpu.r[Cpu.RAX] = 1;
        cpu.r[Cpu.RCX] = 0;
        cpu.cpuid.execute(cpu);
        long edx = cpu.r[Cpu.RDX];
        java.util.Arrays.fill(cpu.r, 0);
        return edx;
    }

    /** The signal Linux sends a process for a fault of {@code vector} in user mode. */
    static int signalOf(int vector) {
        return switch (vector) {
            case CpuFault.DE, CpuFault.MF, CpuFault.XM -> GuestProcess.SIGFPE;
            case CpuFault.UD -> GuestProcess.SIGILL;
            case CpuFault.BP, CpuFault.DB -> 5; // SIGTRAP
            default -> GuestProcess.SIGSEGV;
        };
    }

    /** A guest fault ends the process as the matching signal would, with one line on stderr. */
    private static void died(GuestProcess p, Cpu cpu, CpuFault fault) {
        int vector = fault.vector();
        int signal = signalOf(vector);
        long at = vector == CpuFault.PF ? fault.address() : cpu.rip;
        StringBuilder line = new StringBuilder(String.format("hako: %s: %s at %#x (rip %#x)", p.name,
                CpuFault.name(vector), at, cpu.rip));
        if (vector == CpuFault.UD) {
            line.append(" bytes");
            for (int k = 0; k < 8 && p.space.allows(cpu.rip + k, 1, AddressSpace.READ); k++) {
                line.append(String.format(" %02x", p.space.ram.get(java.lang.foreign.ValueLayout.JAVA_BYTE,
                        cpu.rip + k) & 0xFF));
            }
        }
        p.log.println(line);
        p.killedBy(signal);
    }
}
