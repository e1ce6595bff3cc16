package dev.hako.soft.oracle;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Interpreter;
import dev.hako.soft.exec.ProcessMode;
import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.Mmu;
import dev.hako.soft.mmu.PageWalker;
import dev.hako.soft.translate.BlockBuilder;
import dev.hako.testkit.CPrograms;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The host CPU as the oracle for code that faults: each case runs natively in a forked child of the testkit's
 * {@code randexec} harness (code at {@link #CODE}, UD2s after it, data pages at {@link #DATA}, every syscall
 * turned into SIGSYS), which reports the trap number and the registers Linux saved at the first fault; and
 * on the soft CPU, set up as Linux runs a process ({@link ProcessMode#enterLinux}) over the same pages,
 * interpreted and translated, up to its first fault. Only x86-64 Linux hosts with gcc can be the oracle.
 */
final class ForkedOracle {
    static final long CODE = 0x1000_0000L, DATA = 0x2000_0000L;
    static final int DATA_SIZE = 0x3000;
    private static final int RECORD = 160, STEPS = 64;

    /** Code bytes and the initial GPRs (RFLAGS 0x202). */
    record Case(String name, byte[] code, long[] regs) {
        @Override
        public String toString() {
            return name + " [" + java.util.HexFormat.ofDelimiter(" ").formatHex(code) + "]";
        }
    }

    /** How a run ended: the exception vector of its first fault, RIP, the GPRs, RFLAGS and a #PF's address. */
    record Outcome(int vector, long rip, long[] regs, long rflags, long pageFaultAddress) {
        String describe() {
            StringBuilder sb = new StringBuilder(String.format("%s at rip %#x, rflags %#x", CpuFault.name(vector),
                    rip, rflags));
            if (vector == CpuFault.PF) {
                sb.append(String.format(", address %#x", pageFaultAddress));
            }
            for (int k = 0; k < 16; k++) {
                sb.append(String.format(" %s=%#x", MachineState.GPR_NAMES[k], regs[k]));
            }
            return sb.toString();
        }
    }

    private ForkedOracle() {}

    /** Runs every case natively; {@code data} fills the data pages of each. */
    static List<Outcome> runNatively(Path dir, byte[] data, List<Case> cases) throws Exception {
        Path harness = CPrograms.compile(dir, "randexec", "-static -O2 -fno-stack-protector");
        ByteBuffer in = ByteBuffer.allocate(4 + DATA_SIZE + cases.size() * (132 + 64)).order(ByteOrder.LITTLE_ENDIAN);
        in.putInt(cases.size()).put(data);
        for (Case c : cases) {
            for (long v : c.regs()) {
                in.putLong(v);
            }
            in.putInt(c.code().length).put(c.code());
        }
        Path input = Files.write(dir.resolve("faults.bin"), java.util.Arrays.copyOf(in.array(), in.position()));
        Process p = new ProcessBuilder(harness.toString(), input.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (p.waitFor() != 0 || out.length != cases.size() * RECORD) {
            throw new IllegalStateException("randexec failed: status " + p.exitValue() + ", " + out.length + " bytes");
        }
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        List<Outcome> outcomes = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            int signal = b.getInt();
            int trap = b.getInt();
            long address = b.getLong();
            long[] regs = new long[16];
            for (int k = 0; k < 16; k++) {
                regs[k] = b.getLong();
            }
            long rip = b.getLong();
            long rflags = b.getLong();
            outcomes.add(new Outcome(signal > 0 ? trap : -1, rip, regs, rflags, address));
        }
        return outcomes;
    }

    /** Runs {@code c} on a fresh soft CPU, its blocks interpreted or each instruction translated. */
    static Outcome runSoft(byte[] data, Case c, boolean translated) {
        MemorySegment ram = Arena.ofAuto().allocate(4096 + DATA_SIZE, 4096);
        for (int k = 0; k < 4096; k += 2) {
            ram.set(ValueLayout.JAVA_SHORT, k, (short) 0x0B0F); // ud2 after the case's bytes
        }
        MemorySegment.copy(c.code(), 0, ram, ValueLayout.JAVA_BYTE, 0, c.code().length);
        MemorySegment.copy(data, 0, ram, ValueLayout.JAVA_BYTE, 4096, DATA_SIZE);
        CpuFault walkerFault = new CpuFault();
        PageWalker walker = (gva, access) -> {
            if (gva - CODE >= 0 && gva - CODE < 4096 && access != PageWalker.WRITE) {
                return 0;
            }
            if (gva - DATA >= 0 && gva - DATA < DATA_SIZE) {
                return 4096 + ((gva - DATA) & ~0xFFFL);
            }
            if ((gva << 16 >> 16) != gva) {
                throw walkerFault.nonCanonical(gva);
            }
            boolean present = gva - CODE >= 0 && gva - CODE < 4096;
            int code = (present ? 1 : 0) | 4 | (access == PageWalker.WRITE ? 2 : 0)
                    | (access == PageWalker.EXECUTE ? 16 : 0);
            throw walkerFault.raise(CpuFault.PF, code, true, gva);
        };
        Cpu cpu = new Cpu(new Mmu(ram, walker));
        ProcessMode.enterLinux(cpu);
        System.arraycopy(c.regs(), 0, cpu.r, 0, 16);
        cpu.rip = CODE;
        cpu.setRflags(0x202, -1L);
        int[] vector = {-1};
        long[] address = {0};
        Interpreter interpreter = new Interpreter(cpu, (cc, fault, in) -> {
            vector[0] = fault.vector();
            address[0] = fault.address();
            in.stop();
        }, new BlockBuilder(translated, 1));
        cpu.syscallHandler = cc -> {
            throw new IllegalStateException("SYSCALL in a fault case");
        };
        for (int n = 0; n < STEPS && vector[0] < 0; n++) {
            interpreter.step();
        }
        return new Outcome(vector[0], cpu.rip, cpu.r.clone(), cpu.rflags(), address[0]);
    }
}
