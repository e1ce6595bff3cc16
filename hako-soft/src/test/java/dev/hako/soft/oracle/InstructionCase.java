package dev.hako.soft.oracle;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * One row of a differential table: the instruction's bytes, which flags the manual leaves undefined, what
 * to compare besides GPRs, defined flags, memory and RIP, and how to constrain the random inputs. A ModRM
 * memory operand is aimed into the data pages automatically; registers a case names are set as it says.
 */
final class InstructionCase {
    /** State compared on request; GPRs, defined flags, the data pages and where RIP went are always compared. */
    enum Compare { XMM, MXCSR, X87 }

    /** Picks a register's input value. */
    @FunctionalInterface
    interface RegisterValue {
        long pick(Random rnd, MachineState s);
    }

    /** Adjusts a generated input as a whole (for constraints relating several registers or memory). */
    @FunctionalInterface
    interface Adjuster {
        void adjust(MachineState s, Random rnd, long insnAddress);
    }

    /** Flags undefined for a given input (for instructions whose defined flags depend on the operands). */
    @FunctionalInterface
    interface FlagMask {
        long undefined(MachineState input);
    }

    final byte[] bytes;
    final String hex;
    private FlagMask undefinedFlags = in -> 0;
    final EnumSet<Compare> compare = EnumSet.noneOf(Compare.class);
    /** RFLAGS bits compared beyond the arithmetic flags and DF (POPF may change AC, ID, NT...). */
    long extraFlags;
    final Map<Integer, RegisterValue> registers = new LinkedHashMap<>();
    final List<Adjuster> adjusters = new ArrayList<>();
    final List<Integer> branchExits = new ArrayList<>();
    /** Registers whose output the manual leaves undefined for these inputs. */
    final List<Integer> undefinedRegisters = new ArrayList<>();
    /** Bytes the memory operand may span from its address (for the automatic placement). */
    int operandSpan = 16;
    /** Alignment of the automatically placed memory operand (CMPXCHG16B and friends fault unaligned). */
    int operandAlign = 1;
    boolean ripRelativeReadAllowed;
    int iterations = Differential.DEFAULT_ITERATIONS;
    /**
     * How many instructions the bytes hold: the host runs them all, the soft CPU steps this many (a sequence
     * of register forms, or one whose only memory operands use the first instruction's address registers).
     */
    int instructions = 1;
    /**
     * x87 register results may differ from the host's by this many units in the last place (transcendentals,
     * which hardware does not compute bit-exactly either); C1 and PE are then not compared.
     */
    int x87Ulps;
    /** Memory bytes not compared, given the input (a field where the soft CPU models another CPU on purpose). */
    IgnoredMemory ignoredMemory = (in, address) -> false;

    @FunctionalInterface
    interface IgnoredMemory {
        boolean ignored(MachineState input, long address);
    }
    String note = "";

    private InstructionCase(String hex) {
        this.hex = hex.trim().replaceAll("\\s+", " ").toLowerCase(java.util.Locale.ROOT);
        this.bytes = HexFormat.of().parseHex(hex.replaceAll("\\s+", ""));
    }

    /** A case for the instruction given as hex bytes, e.g. {@code "48 01 d8"}. */
    static InstructionCase of(String hex) {
        return new InstructionCase(hex);
    }

    InstructionCase undefined(long flags) {
        FlagMask previous = undefinedFlags;
        undefinedFlags = in -> previous.undefined(in) | flags;
        return this;
    }

    InstructionCase undefinedWhen(FlagMask mask) {
        FlagMask previous = undefinedFlags;
        undefinedFlags = in -> previous.undefined(in) | mask.undefined(in);
        return this;
    }

    long undefinedFlags(MachineState input) {
        return undefinedFlags.undefined(input);
    }

    InstructionCase compare(Compare... what) {
        compare.addAll(List.of(what));
        return this;
    }

    InstructionCase compareFlags(long bits) {
        extraFlags |= bits;
        return this;
    }

    InstructionCase with(int reg, RegisterValue value) {
        registers.put(reg, value);
        return this;
    }

    InstructionCase with(int reg, long fixed) {
        return with(reg, (rnd, s) -> fixed);
    }

    InstructionCase adjust(Adjuster adjuster) {
        adjusters.add(adjuster);
        return this;
    }

    /** Execution may also go on at {@code offset} from the instruction's first byte (a branch target). */
    InstructionCase exitAt(int offset) {
        branchExits.add(offset);
        return this;
    }

    InstructionCase undefinedRegister(int reg) {
        undefinedRegisters.add(reg);
        return this;
    }

    InstructionCase operandSpan(int bytes) {
        operandSpan = bytes;
        return this;
    }

    InstructionCase operandAlign(int bytes) {
        operandAlign = bytes;
        return this;
    }

    /** Allows a RIP-relative memory operand; it reads the (read-only) code pages, so it must not write. */
    InstructionCase ripRelativeRead() {
        ripRelativeReadAllowed = true;
        return this;
    }

    InstructionCase iterations(int n) {
        iterations = n;
        return this;
    }

    /** The bytes are a sequence of {@code n} instructions (see {@link #instructions}). */
    InstructionCase sequence(int n) {
        instructions = n;
        return this;
    }

    InstructionCase ignoreMemory(IgnoredMemory which) {
        ignoredMemory = which;
        return this;
    }

    InstructionCase x87Ulps(int ulps) {
        x87Ulps = ulps;
        return this;
    }

    InstructionCase note(String text) {
        note = text;
        return this;
    }

    int[] exits() {
        return branchExits.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public String toString() {
        return hex + (note.isEmpty() ? "" : " (" + note + ")");
    }
}
