package dev.hako.soft.oracle;

/**
 * Reads and writes an instruction's r/m operand in an input state, for adjusters that relate operands
 * (a divisor and its dividend, a CMPXCHG comparand). The operand is given as the {@link Encoder.Rm} the
 * case was encoded with; a memory operand's address comes from the independent ModRM reading.
 */
final class Operands {
    private Operands() {}

    static long read(MachineState s, byte[] code, Encoder.Rm rm, int size) {
        if (rm.isRegister()) {
            return readRegister(s, rm.register(), size);
        }
        return s.read(address(s, code), size);
    }

    static void write(MachineState s, byte[] code, Encoder.Rm rm, int size, long value) {
        if (rm.isRegister()) {
            writeRegister(s, rm.register(), size, value);
        } else {
            s.write(address(s, code), size, value);
        }
    }

    private static long address(MachineState s, byte[] code) {
        MemoryOperand m = MemoryOperand.of(code).orElseThrow();
        return m.address(s.gpr, 0);
    }

    /** Register {@code reg} (AH..BH as {@link Encoder#AH}..) at {@code size}, zero-extended. */
    static long readRegister(MachineState s, int reg, int size) {
        if (reg >= Encoder.AH) {
            return (s.gpr[reg - Encoder.AH] >>> 8) & 0xFF;
        }
        return size == 8 ? s.gpr[reg] : s.gpr[reg] & ((1L << (8 * size)) - 1);
    }

    /** Writes the low {@code size} bytes of register {@code reg}, keeping the rest (an input, not x86 semantics). */
    static void writeRegister(MachineState s, int reg, int size, long value) {
        if (reg >= Encoder.AH) {
            int r = reg - Encoder.AH;
            s.gpr[r] = (s.gpr[r] & ~0xFF00L) | ((value & 0xFF) << 8);
            return;
        }
        long mask = size == 8 ? -1L : (1L << (8 * size)) - 1;
        s.gpr[reg] = (s.gpr[reg] & ~mask) | (value & mask);
    }
}
