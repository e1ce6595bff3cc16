package dev.hako.soft.decode;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Instructions;
import dev.hako.soft.exec.Interpreter;
import java.util.ArrayList;
import java.util.List;

/**
 * The soft CPU's decoder as a disassembler: instructions from any {@link CodeBytes} (a byte array, a memory
 * segment, guest memory read through page tables) in 16-, 32- or 64-bit mode, written in AT&T syntax as GNU
 * objdump and GDB write them ({@link AttSyntax}). An encoding the soft CPU does not know is {@code (bad)}, as
 * in objdump. One instance decodes on one thread at a time.
 */
public final class Disassembler {
    /** One instruction: where it is, how long, and its text. */
    public record Instruction(long address, int length, String mnemonic, String operands) {
        /** Mnemonic and operands, as objdump's last column. */
        public String text() {
            return operands.isEmpty() ? mnemonic : mnemonic + " " + operands;
        }

        @Override
        public String toString() {
            return String.format("%x: %s", address, text());
        }
    }

    private final Decoder decoder = new Decoder(Interpreter.table(), Instructions::undefined);
    private final Insn insn = new Insn();
    private final int mode;

    /** A disassembler for code of {@code bits} 16, 32 or 64. */
    public Disassembler(int bits) {
        if (bits != Cpu.MODE_16 && bits != Cpu.MODE_32 && bits != Cpu.MODE_64) {
            throw new IllegalArgumentException("mode must be 16, 32 or 64 bits, not " + bits);
        }
        this.mode = bits;
    }

    /** The instruction at {@code address}, or null when its bytes cannot be read (or make no instruction). */
    public Instruction decode(CodeBytes code, long address) {
        try {
            decoder.decode(code, mode, address, insn);
        } catch (UndecodableCode e) {
            return null;
        }
        if (insn.spec.exec == null || "(bad)".equals(insn.spec.mnemonic)) {
            return new Instruction(address, insn.length, "(bad)", "");
        }
        return new Instruction(address, insn.length, AttSyntax.mnemonic(insn, mode), AttSyntax.operands(insn, mode));
    }

    /** Up to {@code count} instructions from {@code address} on, ending early where the bytes end. */
    public List<Instruction> decode(CodeBytes code, long address, int count) {
        List<Instruction> out = new ArrayList<>();
        long at = address;
        for (int n = 0; n < count; n++) {
            Instruction i = decode(code, at);
            if (i == null) {
                break;
            }
            out.add(i);
            at += i.length();
        }
        return out;
    }

    /** An instruction the CPU decoded, for logs: its address and AT&T text (read as 64-bit code). */
    public static String format(Insn i) {
        if (i.spec == null) {
            return "(undecoded)";
        }
        return String.format("%016x: %s %s", i.addr, AttSyntax.mnemonic(i, Cpu.MODE_64),
                AttSyntax.operands(i, Cpu.MODE_64)).stripTrailing();
    }
}
