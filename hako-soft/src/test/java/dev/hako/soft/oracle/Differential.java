package dev.hako.soft.oracle;

import static org.assertj.core.api.Assertions.fail;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Flags;
import dev.hako.soft.fault.CpuFault;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;

/**
 * Runs an {@link InstructionCase} many times on seeded random inputs, on the host CPU and on the soft CPU,
 * and fails with a full report (bytes, the soft decoder's disassembly, input and both outputs) at the first
 * difference in a GPR, a defined flag, the data pages, where RIP went, or the x87/SSE state the case asks
 * for. Faulting forms are checked on the soft CPU alone ({@link #checkSoftFault}).
 *
 * <p>{@code -Dhako.differential.seed=N} changes the seeds; {@code -Dhako.differential.scale=K} multiplies
 * the iterations.
 */
final class Differential {
    static final int DEFAULT_ITERATIONS = 200;
    static final long COMPARED_FLAGS = Flags.ARITH | Flags.DF;
    /** Where soft-only checks put the code and data: ordinary user addresses, no host involved. */
    private static final long SOFT_ONLY_CODE = 0x40_0000, SOFT_ONLY_DATA = 0x1000_0000;
    private static final long SEED = Long.getLong("hako.differential.seed", 0x5EED);
    private static final int SCALE = Integer.getInteger("hako.differential.scale", 1);

    private static HostOracle oracle;

    private Differential() {}

    private static synchronized HostOracle oracle() {
        if (oracle == null) {
            oracle = new HostOracle();
        }
        return oracle;
    }

    /** One dynamic test per case, named by its bytes and note. */
    static Stream<DynamicTest> tests(List<InstructionCase> cases) {
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.toString(), () -> check(c)));
    }

    /** One dynamic test per case, each asserting the soft CPU raises {@code vector}. */
    static Stream<DynamicTest> faultTests(List<InstructionCase> cases, int vector) {
        return cases.stream().map(c -> DynamicTest.dynamicTest(c + " raises " + CpuFault.name(vector),
                () -> checkSoftFault(c, vector)));
    }

    /** Guest address of the data pages on the host (for encodings that hold an absolute address). */
    static long hostDataAddress() {
        return HostOracle.available() ? oracle().dataAddress() : SOFT_ONLY_DATA;
    }

    /** Runs the case on both CPUs and compares; skipped where the host cannot be the oracle. */
    static void check(InstructionCase c) {
        Assumptions.assumeTrue(HostOracle.available(), HostOracle.UNAVAILABLE);
        HostOracle host = oracle();
        try (HostOracle.Prepared p = host.prepare(c.bytes, c.exits())) {
            SoftRunner soft = new SoftRunner(p.codeAddress(), p.bytes(), host.dataAddress());
            Random rnd = new Random(SEED * 31 + c.hex.hashCode());
            int iterations = c.iterations * SCALE;
            for (int k = 0; k < iterations; k++) {
                MachineState in = InputGenerator.generate(c, rnd, host.dataAddress(), p.insnAddress(),
                        host.mxcsrMask());
                requireSafeForHost(c, in, p);
                MachineState expected = host.run(p, in);
                MachineState actual;
                try {
                    actual = soft.run(p.insnAddress(), in, c.instructions);
                } catch (RuntimeException e) {
                    throw new AssertionError(header(c, soft, p.insnAddress(), k, iterations)
                            + "the soft CPU threw " + e + "\ninput:\n" + in.format(fpu(c)), e);
                }
                String differences = differences(c, in, expected, actual);
                if (!differences.isEmpty() && differences(c, in, host.run(p, in), actual).isEmpty()) {
                    // The host's answer disagreed once and not again: its own kernel disturbed that run (an
                    // interrupt under this sandbox's hypervisor once cleared NT between a POPF and the capture).
                    // A difference counts when a second host run confirms it; the soft CPU is deterministic.
                    continue;
                }
                if (!differences.isEmpty()) {
                    fail(header(c, soft, p.insnAddress(), k, iterations) + "differences:\n" + differences
                            + "input:\n" + in.format(fpu(c)) + "host:\n" + expected.format(fpu(c))
                            + "soft:\n" + actual.format(fpu(c)));
                }
            }
        }
    }

    /**
     * Asserts that the soft CPU raises {@code vector} for every input the case generates, leaving RIP on
     * the instruction and the registers, flags and memory as they were, and the x87/SSE state too when the
     * case compares it. Runs on any host.
     */
    static void checkSoftFault(InstructionCase c, int vector) {
        byte[] code = new byte[Trampoline.CODE_SIZE];
        java.util.Arrays.fill(code, (byte) 0xCC);
        System.arraycopy(c.bytes, 0, code, Trampoline.INSN_OFFSET, c.bytes.length);
        long insnAddress = SOFT_ONLY_CODE + Trampoline.INSN_OFFSET;
        SoftRunner soft = new SoftRunner(SOFT_ONLY_CODE, code, SOFT_ONLY_DATA);
        Random rnd = new Random(SEED * 37 + c.hex.hashCode());
        int iterations = c.iterations * SCALE;
        for (int k = 0; k < iterations; k++) {
            MachineState in = InputGenerator.generate(c, rnd, SOFT_ONLY_DATA, insnAddress, 0xFFFF);
            MachineState out = soft.run(insnAddress, in, c.instructions);
            StringBuilder d = new StringBuilder();
            if (out.faultVector != vector) {
                d.append("  expected ").append(CpuFault.name(vector)).append(", got ")
                        .append(out.faultVector == MachineState.NO_FAULT ? "no fault" : CpuFault.name(out.faultVector))
                        .append('\n');
            } else {
                if (out.ripOffset != 0) {
                    d.append(String.format("  rip moved to insn%+d%n", out.ripOffset));
                }
                compareGprsFlagsMemory(c, in, in, out, d, COMPARED_FLAGS);
                if (fpu(c) && !java.util.Arrays.equals(in.fxsave, out.fxsave)) {
                    d.append("  the x87/SSE state changed\n");
                }
            }
            if (!d.isEmpty()) {
                fail(header(c, soft, insnAddress, k, iterations) + "fault check:\n" + d + "input:\n"
                        + in.format(fpu(c)) + "soft:\n" + out.format(fpu(c)));
            }
        }
    }

    private static boolean fpu(InstructionCase c) {
        return !c.compare.isEmpty();
    }

    private static String header(InstructionCase c, SoftRunner soft, long insnAddress, int k, int iterations) {
        return String.format("instruction %s   soft decodes: %s%s%niteration %d of %d (seed %#x)%n", c.hex,
                soft.disassemble(insnAddress), c.note.isEmpty() ? "" : "   [" + c.note + "]", k + 1, iterations,
                SEED);
    }

    /** Refuses inputs that would make the host touch memory outside the data or code pages (a JVM crash). */
    private static void requireSafeForHost(InstructionCase c, MachineState in, HostOracle.Prepared p) {
        long rsp = in.gpr[Cpu.RSP];
        if (!in.inData(rsp - 16, 32)) {
            throw new IllegalStateException(c + ": RSP " + Long.toHexString(rsp) + " is not inside the data pages");
        }
        Optional<MemoryOperand> operand = MemoryOperand.of(c.bytes);
        if (operand.isEmpty()) {
            return;
        }
        MemoryOperand m = operand.get();
        long ea = m.address(in.gpr, p.insnAddress() + c.bytes.length);
        if (m.ripRelative()) {
            boolean inCode = ea >= p.codeAddress() && ea + c.operandSpan <= p.codeAddress() + Trampoline.CODE_SIZE;
            if (!c.ripRelativeReadAllowed || !inCode) {
                throw new IllegalStateException(c + ": RIP-relative operand must be a read inside the code pages");
            }
        } else if (!in.inData(ea, c.operandSpan)) {
            throw new IllegalStateException(String.format("%s: memory operand at %#x is outside the data pages",
                    c, ea));
        }
    }

    private static String differences(InstructionCase c, MachineState in, MachineState host, MachineState soft) {
        StringBuilder d = new StringBuilder();
        if (soft.faultVector != MachineState.NO_FAULT) {
            d.append("  the soft CPU raised ").append(CpuFault.name(soft.faultVector)).append('\n');
            return d.toString();
        }
        if (host.ripOffset != soft.ripOffset) {
            d.append(String.format("  rip: host insn%+d, soft insn%+d%n", host.ripOffset, soft.ripOffset));
        }
        compareGprsFlagsMemory(c, in, host, soft, d, (COMPARED_FLAGS | c.extraFlags) & ~c.undefinedFlags(in));
        if (c.compare.contains(InstructionCase.Compare.XMM)) {
            for (int n = 0; n < 16; n++) {
                long hl = FxsaveImage.xmmLow(host.fxsave, n), hh = FxsaveImage.xmmHigh(host.fxsave, n);
                long sl = FxsaveImage.xmmLow(soft.fxsave, n), sh = FxsaveImage.xmmHigh(soft.fxsave, n);
                if (hl != sl || hh != sh) {
                    d.append(String.format("  xmm%d: host %016x:%016x, soft %016x:%016x%n", n, hh, hl, sh, sl));
                }
            }
        }
        if (c.compare.contains(InstructionCase.Compare.MXCSR)
                && FxsaveImage.mxcsr(host.fxsave) != FxsaveImage.mxcsr(soft.fxsave)) {
            d.append(String.format("  mxcsr: host %08x, soft %08x%n", FxsaveImage.mxcsr(host.fxsave),
                    FxsaveImage.mxcsr(soft.fxsave)));
        }
        if (c.compare.contains(InstructionCase.Compare.X87)) {
            compareX87(host.fxsave, soft.fxsave, d, c.x87Ulps);
        }
        return d.toString();
    }

    private static void compareGprsFlagsMemory(InstructionCase c, MachineState in, MachineState expected,
            MachineState actual, StringBuilder d, long flagMask) {
        for (int r = 0; r < 16; r++) {
            if (expected.gpr[r] != actual.gpr[r] && !c.undefinedRegisters.contains(r)) {
                d.append(String.format("  %s: expected %016x, soft %016x (input %016x)%n", MachineState.GPR_NAMES[r],
                        expected.gpr[r], actual.gpr[r], in.gpr[r]));
            }
        }
        if (((expected.rflags ^ actual.rflags) & flagMask) != 0) {
            d.append(String.format("  rflags (comparing %s): expected %s, soft %s%n", MachineState.flagNames(flagMask),
                    MachineState.flagNames(expected.rflags & flagMask), MachineState.flagNames(actual.rflags & flagMask)));
        }
        int shown = 0;
        for (int off = 0; off < MachineState.DATA_SIZE; off++) {
            if (expected.data[off] != actual.data[off] && !c.ignoredMemory.ignored(in, in.dataAddress + off)) {
                if (shown++ < 24) {
                    d.append(String.format("  memory %#x (data+%#x): input %02x, expected %02x, soft %02x%n",
                            in.dataAddress + off, off, in.data[off], expected.data[off], actual.data[off]));
                }
            }
        }
        if (shown > 24) {
            d.append("  ... ").append(shown - 24).append(" more differing bytes\n");
        }
    }

    /** Whether two extended values are at most {@code ulps} apart (same sign, adjacent encodings). */
    private static boolean withinUlps(int seA, long sigA, int seB, long sigB, int ulps) {
        if (ulps == 0 || ((seA ^ seB) & 0x8000) != 0) {
            return false;
        }
        java.math.BigInteger a = java.math.BigInteger.valueOf(seA & 0x7FFF).shiftLeft(63)
                .add(java.math.BigInteger.valueOf(sigA & Long.MAX_VALUE));
        java.math.BigInteger b = java.math.BigInteger.valueOf(seB & 0x7FFF).shiftLeft(63)
                .add(java.math.BigInteger.valueOf(sigB & Long.MAX_VALUE));
        return a.subtract(b).abs().compareTo(java.math.BigInteger.valueOf(ulps)) <= 0;
    }

    private static void compareX87(byte[] host, byte[] soft, StringBuilder d, int ulps) {
        int fswMask = ulps == 0 ? 0xFFFF : ~(0x0200 | 0x0020 | 0x0010) & 0xFFFF;
        if (FxsaveImage.fcw(host) != FxsaveImage.fcw(soft)) {
            d.append(String.format("  fcw: host %04x, soft %04x%n", FxsaveImage.fcw(host), FxsaveImage.fcw(soft)));
        }
        if (((FxsaveImage.fsw(host) ^ FxsaveImage.fsw(soft)) & fswMask) != 0) {
            d.append(String.format("  fsw: host %04x, soft %04x%n", FxsaveImage.fsw(host), FxsaveImage.fsw(soft)));
        }
        if (FxsaveImage.ftw(host) != FxsaveImage.ftw(soft)) {
            d.append(String.format("  ftw: host %02x, soft %02x%n", FxsaveImage.ftw(host), FxsaveImage.ftw(soft)));
        }
        int top = FxsaveImage.top(host);
        for (int i = 0; i < 8; i++) {
            if ((FxsaveImage.ftw(host) & (1 << ((top + i) & 7))) == 0) {
                continue; // empty registers hold nothing to compare
            }
            long hs = FxsaveImage.stSignificand(host, i), ss = FxsaveImage.stSignificand(soft, i);
            int he = FxsaveImage.stSignExponent(host, i), se = FxsaveImage.stSignExponent(soft, i);
            if ((hs != ss || he != se) && !withinUlps(he, hs, se, ss, ulps)) {
                d.append(String.format("  st%d: host %04x:%016x, soft %04x:%016x%n", i, he, hs, se, ss));
            }
        }
    }
}
