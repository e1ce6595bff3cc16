package dev.hako.soft.decode;

/**
 * A disassembler's decode ended without an instruction: a byte could not be read, or the bytes make an
 * instruction longer than 15 bytes. Preallocated and stackless, like the CPU's faults.
 */
public final class UndecodableCode extends RuntimeException {
    static final UndecodableCode INSTANCE = new UndecodableCode();

    private UndecodableCode() {
        super("undecodable code", null, false, false);
    }
}
