package dev.hako.usermode;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Interpreter;
import dev.hako.soft.exec.ProcessMode;
import dev.hako.soft.mmu.Mmu;
import dev.hako.sys.Libc;
import java.util.Arrays;
import java.util.List;

/**
 * Puts a program into a fresh address space as Linux's ELF loader does for a static program (at start and
 * at execve), and makes the soft CPUs that run guest threads.
 *
 * <p>Layout: an ET_EXEC program at its own addresses, a static-pie at {@link #PIE_BASE}; the heap (brk) right
 * above the image; mmaps placed top-down below the stack; an 8 MiB stack ending at {@link #STACK_TOP}.
 */
final class ProgramLoader {
    static final long PIE_BASE = 0x4000_0000L;
    static final long STACK_TOP = AddressSpace.SIZE - 0x10000;
    static final long STACK_SIZE = 8L << 20;
    /** Lowest address for mmaps: the heap may grow up to here. */
    static final long MMAP_LOW = 0x2_0000_0000L;
    /** Gap kept free between the mmap area and the stack. */
    private static final long STACK_GAP = 1L << 30;
    private static final Interpreter.FaultHandler FAULTS =
            (cpu, fault, interpreter) -> SignalDelivery.fault(GuestThread.current(), cpu, fault);

    private ProgramLoader() {}

    /** A soft CPU over {@code space} whose faults become signals of the thread running it. */
    static Cpu newCpu(ProcessTable table, AddressSpace space) {
        return newCpu(new Mmu(space.ram, space, table.codePages));
    }

    /** A soft CPU over {@code mmu} in the state Linux runs a 64-bit process in: its GDT, CS 0x33, SS 0x2b. */
    static Cpu newCpu(Mmu mmu) {
        Cpu cpu = new Cpu(mmu);
        ProcessMode.enterLinux(cpu);
        return cpu;
    }

    static Interpreter newInterpreter(Cpu cpu) {
        return new Interpreter(cpu, FAULTS);
    }

    /**
     * Loads {@code image} into {@code space} for {@code p} (its heap and mmap bounds are set) and returns a
     * CPU at the entry point with the initial stack (argv, envp, auxv) built; strings are raw bytes.
     */
    static Cpu load(GuestProcess p, AddressSpace space, ElfImage image, List<String> argv, List<String> env) {
        long bias = image.type == ElfImage.ET_DYN ? PIE_BASE - image.lowest : 0;
        image.load(space, bias);
        p.brkStart = p.brk = bias + image.highest;
        p.mmapLow = Math.max(MMAP_LOW, p.brkStart + (1L << 30));
        long stackBottom = STACK_TOP - STACK_SIZE;
        p.mmapHigh = stackBottom - STACK_GAP;
        space.map(stackBottom, STACK_SIZE, AddressSpace.READ | AddressSpace.WRITE);

        Cpu cpu = newCpu(p.table, space);
        long entry = bias + image.entry;
        InitialStack.AuxInfo aux = new InitialStack.AuxInfo(image.phdrAddress == 0 ? 0 : bias + image.phdrAddress,
                image.phnum, entry, hwcap(cpu), Libc.syscall(102, 0, 0, 0, 0, 0, 0),
                Libc.syscall(107, 0, 0, 0, 0, 0, 0), Libc.syscall(104, 0, 0, 0, 0, 0, 0),
                Libc.syscall(108, 0, 0, 0, 0, 0, 0));
        cpu.r[Cpu.RSP] = InitialStack.build(space, STACK_TOP, argv, env, p.exePath, aux);
        cpu.rip = entry;
        return cpu;
    }

    /** AT_HWCAP: CPUID leaf 1 EDX of the soft CPU, as Linux reports the boot CPU's. */
    private static long hwcap(Cpu cpu) {
        cpu.r[Cpu.RAX] = 1;
        cpu.r[Cpu.RCX] = 0;
        cpu.cpuid.execute(cpu);
        long edx = cpu.r[Cpu.RDX];
        Arrays.fill(cpu.r, 0);
        return edx;
    }
}
