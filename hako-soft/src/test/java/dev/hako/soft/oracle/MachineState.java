package dev.hako.soft.oracle;

import java.util.Arrays;

/**
 * What one instruction sees and leaves behind, the same for the host CPU and the soft CPU: the 16 GPRs,
 * RFLAGS, an FXSAVE image (x87, MXCSR, XMM0-15) and the data pages with their guest address. RIP is not
 * part of it: an output records where execution went on as an offset from the instruction's first byte.
 */
final class MachineState {
    static final int DATA_PAGES = 2;
    static final int DATA_SIZE = DATA_PAGES * 4096;
    static final String[] GPR_NAMES = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9",
        "r10", "r11", "r12", "r13", "r14", "r15"};
    static final int NO_FAULT = -1;

    final long[] gpr = new long[16];
    long rflags;
    final byte[] fxsave = new byte[FxsaveImage.SIZE];
    /** Guest (and, for the host oracle, host) address of the first data page. */
    final long dataAddress;
    final byte[] data = new byte[DATA_SIZE];
    /** Output only: where execution continued, relative to the instruction's address. */
    long ripOffset;
    /** Output only: the exception vector the instruction raised, or {@link #NO_FAULT}. */
    int faultVector = NO_FAULT;

    MachineState(long dataAddress) {
        this.dataAddress = dataAddress;
    }

    MachineState copy() {
        MachineState s = new MachineState(dataAddress);
        System.arraycopy(gpr, 0, s.gpr, 0, 16);
        s.rflags = rflags;
        System.arraycopy(fxsave, 0, s.fxsave, 0, fxsave.length);
        System.arraycopy(data, 0, s.data, 0, data.length);
        s.ripOffset = ripOffset;
        s.faultVector = faultVector;
        return s;
    }

    boolean inData(long address, int size) {
        return address >= dataAddress && address + size <= dataAddress + DATA_SIZE;
    }

    /** Little-endian load from the data pages at guest address {@code address}. */
    long read(long address, int size) {
        int off = (int) (address - dataAddress);
        long v = 0;
        for (int k = size - 1; k >= 0; k--) {
            v = (v << 8) | (data[off + k] & 0xFF);
        }
        return v;
    }

    void write(long address, int size, long value) {
        int off = (int) (address - dataAddress);
        for (int k = 0; k < size; k++) {
            data[off + k] = (byte) (value >>> (8 * k));
        }
    }

    static String flagNames(long f) {
        StringBuilder sb = new StringBuilder();
        String[] names = {"CF", "", "PF", "", "AF", "", "ZF", "SF", "TF", "IF", "DF", "OF"};
        for (int bit = 0; bit < names.length; bit++) {
            if (!names[bit].isEmpty() && (f & (1L << bit)) != 0) {
                sb.append(sb.isEmpty() ? "" : " ").append(names[bit]);
            }
        }
        return String.format("%#06x [%s]", f, sb);
    }

    /** Registers and flags, plus the x87/SSE state when {@code withFpu}. Memory is shown by the differ. */
    String format(boolean withFpu) {
        StringBuilder sb = new StringBuilder();
        for (int r = 0; r < 16; r++) {
            sb.append(String.format("%4s=%016x%s", GPR_NAMES[r], gpr[r], r % 4 == 3 ? "\n" : " "));
        }
        sb.append("  rflags=").append(flagNames(rflags));
        sb.append(String.format("  data@%#x", dataAddress));
        if (faultVector != NO_FAULT) {
            sb.append("  fault=").append(dev.hako.soft.fault.CpuFault.name(faultVector));
        } else {
            sb.append(String.format("  rip=insn%+d", ripOffset));
        }
        sb.append('\n');
        if (withFpu) {
            sb.append(String.format("  fcw=%04x fsw=%04x ftw=%02x mxcsr=%08x%n", FxsaveImage.fcw(fxsave),
                    FxsaveImage.fsw(fxsave), FxsaveImage.ftw(fxsave), FxsaveImage.mxcsr(fxsave)));
            for (int i = 0; i < 8; i++) {
                sb.append(String.format("  st%d=%04x:%016x", i, FxsaveImage.stSignExponent(fxsave, i),
                        FxsaveImage.stSignificand(fxsave, i))).append(i % 4 == 3 ? "\n" : "");
            }
            for (int n = 0; n < 16; n++) {
                sb.append(String.format("  xmm%-2d=%016x:%016x", n, FxsaveImage.xmmHigh(fxsave, n),
                        FxsaveImage.xmmLow(fxsave, n))).append(n % 2 == 1 ? "\n" : "");
            }
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return format(false);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MachineState s && Arrays.equals(gpr, s.gpr) && rflags == s.rflags
                && Arrays.equals(fxsave, s.fxsave) && Arrays.equals(data, s.data) && dataAddress == s.dataAddress;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(gpr);
    }
}
