package dev.hako.soft.oracle;

import dev.hako.sys.Mman;
import dev.hako.sys.NativeCode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;

/**
 * The host x86-64 CPU as the exact oracle: runs one instruction natively (see {@link Trampoline}) on a
 * {@link MachineState}. The data pages are real host memory, mapped once below 2 GiB, so memory operands
 * (and 32-bit addressing) work natively at the same addresses the soft CPU is given. One instance serves
 * a whole test run; it is not thread-safe.
 *
 * <p>Instructions that would fault on the host must never get here: a native fault kills the JVM. The
 * cases keep their inputs away from faults, and {@link Differential} checks memory operands first.
 */
final class HostOracle {
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED;

    private final MemorySegment ctx;
    private final MemorySegment dataPages;
    private final int mxcsrMask;

    /** A trampoline mapped for one instruction, with the bytes the soft CPU is given at the same address. */
    record Prepared(NativeCode code, byte[] bytes, long codeAddress, long insnAddress) implements AutoCloseable {
        @Override
        public void close() {
            code.close();
        }
    }

    HostOracle() {
        ctx = Arena.global().allocate(Trampoline.CONTEXT_SIZE, 64);
        dataPages = Mman.reserveLow(MachineState.DATA_SIZE, Mman.PROT_READ | Mman.PROT_WRITE);
        mxcsrMask = captureMxcsrMask();
    }

    /** Whether the host can be the oracle at all: an x86-64 CPU under Linux. */
    static boolean available() {
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        return (arch.equals("amd64") || arch.equals("x86_64")) && os.contains("linux");
    }

    static final String UNAVAILABLE = "the host CPU is the oracle for the soft CPU, and this host is not x86-64 Linux";

    long dataAddress() {
        return dataPages.address();
    }

    /** MXCSR bits the host accepts; FXRSTOR of any other bit raises #GP. */
    int mxcsrMask() {
        return mxcsrMask;
    }

    private static int captureMxcsrMask() {
        MemorySegment image = Arena.global().allocate(FxsaveImage.SIZE, 64);
        byte[] fxsaveAndReturn = {0x0F, (byte) 0xAE, 0x07, (byte) 0xC3}; // fxsave [rdi]; ret
        try (NativeCode code = NativeCode.map(fxsaveAndReturn)) {
            code.call(image);
        }
        int mask = image.get(ValueLayout.JAVA_INT, FxsaveImage.MXCSR_MASK);
        return mask == 0 ? 0xFFBF : mask; // zero means the default mask (SDM vol. 1, 11.6.6)
    }

    Prepared prepare(byte[] insn, int[] branchExits) {
        byte[] code = Trampoline.assemble(insn, branchExits, ctx.address());
        NativeCode mapped = NativeCode.map(code);
        return new Prepared(mapped, code, mapped.address(), mapped.address() + Trampoline.INSN_OFFSET);
    }

    /** Runs the prepared instruction natively from {@code in}; returns the state it leaves. */
    MachineState run(Prepared p, MachineState in) {
        if (in.dataAddress != dataAddress()) {
            throw new IllegalArgumentException("state is for data pages at another address");
        }
        for (int r = 0; r < 16; r++) {
            ctx.set(U64, Trampoline.IN_GPR + 8L * r, in.gpr[r]);
        }
        ctx.set(U64, Trampoline.IN_FLAGS, in.rflags);
        ctx.set(U64, Trampoline.EXIT, Long.MIN_VALUE);
        MemorySegment.copy(in.fxsave, 0, ctx, ValueLayout.JAVA_BYTE, Trampoline.FX_IN, FxsaveImage.SIZE);
        MemorySegment.copy(in.data, 0, dataPages, ValueLayout.JAVA_BYTE, 0, MachineState.DATA_SIZE);

        p.code().call(ctx);

        MachineState out = new MachineState(in.dataAddress);
        for (int r = 0; r < 16; r++) {
            out.gpr[r] = ctx.get(U64, Trampoline.OUT_GPR + 8L * r);
        }
        out.rflags = ctx.get(U64, Trampoline.OUT_FLAGS);
        MemorySegment.copy(ctx, ValueLayout.JAVA_BYTE, Trampoline.FX_OUT, out.fxsave, 0, FxsaveImage.SIZE);
        MemorySegment.copy(dataPages, ValueLayout.JAVA_BYTE, 0, out.data, 0, MachineState.DATA_SIZE);
        out.ripOffset = ctx.get(U64, Trampoline.EXIT);
        return out;
    }
}
