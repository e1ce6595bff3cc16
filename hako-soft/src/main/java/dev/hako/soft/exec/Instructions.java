package dev.hako.soft.exec;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;
import dev.hako.soft.fault.CpuFault;

/** Builds the opcode maps from the instruction groups, one group per chapter of the manual. */
public final class Instructions {
    private Instructions() {}

    public static OpcodeTable table() {
        OpcodeTable t = new OpcodeTable();
        Alu.register(t);
        X87Arith.register(t);
        X87LoadStore.register(t);
        X87Unary.register(t);
        X87Control.register(t);
        Moves.register(t);
        Stack.register(t);
        Control.register(t);
        Shift.register(t);
        MulDiv.register(t);
        Bits.register(t);
        Strings.register(t);
        FlagOps.register(t);
        Atomics.register(t);
        SystemOps.register(t);
        Privileged.register(t);
        FastSystemCalls.register(t);
        PortIo.register(t);
        LegacyOps.register(t);
        SseMoves.register(t);
        SsePackedInt.register(t);
        SseShuffle.register(t);
        SseFloat.register(t);
        SseConvert.register(t);
        Mmx.register(t);
        return t;
    }

    /** An encoding with no entry: #UD, as hardware raises it. */
    public static void undefined(Cpu cpu, Insn insn) {
        throw cpu.fault(CpuFault.UD);
    }
}
