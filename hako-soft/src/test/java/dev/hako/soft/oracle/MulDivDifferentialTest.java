package dev.hako.soft.oracle;

import static dev.hako.soft.oracle.Encoder.AH;
import static dev.hako.soft.oracle.Encoder.BH;
import static dev.hako.soft.oracle.Encoder.encode;
import static dev.hako.soft.oracle.Encoder.group;
import static dev.hako.soft.oracle.Encoder.imm;
import static dev.hako.soft.oracle.Encoder.reg;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Flags;
import dev.hako.soft.fault.CpuFault;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * MUL, IMUL (one, two and three operands), DIV and IDIV in every width, register and memory, against the
 * host. After a multiply only CF and OF are defined; after a divide no flag is. Divides get inputs whose
 * quotient fits (a quotient q and remainder r are drawn and the dividend built from them), since #DE would
 * kill the host process; the faulting inputs are checked on the soft CPU alone.
 */
class MulDivDifferentialTest {
    private static final int[] SIZES = {1, 2, 4, 8};
    private static final long MUL_UNDEFINED = Flags.SF | Flags.ZF | Flags.AF | Flags.PF;
    private static final int MUL = 4, IMUL = 5, DIV = 6, IDIV = 7;
    private static final String[] NAMES = {"", "", "", "", "mul", "imul", "div", "idiv"};

    private static List<Encoder.Rm> operands(int size) {
        List<Encoder.Rm> rms = new ArrayList<>();
        int[] regs = size == 1 ? new int[] {3, AH, BH, 0, 9} : new int[] {3, 0, 2, 9, 14};
        for (int r : regs) {
            rms.add(reg(r));
        }
        for (int k = 0; k < Encoder.MEMORY.size(); k += 3) {
            rms.add(Encoder.MEMORY.get((k + size) % Encoder.MEMORY.size()));
        }
        return rms;
    }

    static List<InstructionCase> multiplyCases() {
        List<InstructionCase> cases = new ArrayList<>();
        for (int size : SIZES) {
            String f6 = size == 1 ? "f6" : "f7";
            for (Encoder.Rm rm : operands(size)) {
                for (int op = MUL; op <= IMUL; op++) {
                    cases.add(row(group("", size, f6, op, rm, ""), NAMES[op] + " " + rm.name(), MUL_UNDEFINED));
                }
                if (size == 1 || rm.isRegister() && rm.register() == 4) {
                    continue;
                }
                cases.add(row(encode("", size, "0f af", 6, rm, ""), "imul r,r/m " + rm.name(), MUL_UNDEFINED));
                int immBytes = Math.min(size, 4);
                cases.add(row(encode("", size, "69", 11, rm, imm(0x8000_0001L, immBytes)), "imul r,r/m,imm",
                        MUL_UNDEFINED));
                cases.add(row(encode("", size, "6b", 1, rm, "fd"), "imul r,r/m,imm8", MUL_UNDEFINED));
                cases.add(row(encode("", size, "6b", 3, rm, "7f"), "imul r,r/m,imm8", MUL_UNDEFINED));
            }
        }
        return cases;
    }

    static List<InstructionCase> divideCases() {
        List<InstructionCase> cases = new ArrayList<>();
        long all = Flags.ARITH;
        for (int size : SIZES) {
            String f6 = size == 1 ? "f6" : "f7";
            for (Encoder.Rm rm : operands(size)) {
                if (!rm.isRegister() && (rm.uses(Cpu.RAX) || rm.uses(Cpu.RDX))) {
                    continue; // the dividend registers must stay free
                }
                if (rm.isRegister() && (rm.register() == Cpu.RAX || rm.register() == Cpu.RDX) && size > 1
                        || rm.isRegister() && rm.register() == AH) {
                    continue; // the divisor would be part of the dividend (div ah always overflows)
                }
                for (int op = DIV; op <= IDIV; op++) {
                    if (op == IDIV && rm.isRegister() && rm.register() == Cpu.RAX) {
                        continue;
                    }
                    InstructionCase c = row(group("", size, f6, op, rm, ""), NAMES[op] + " " + rm.name(), all);
                    boolean signed = op == IDIV;
                    c.adjust((s, rnd, insn) -> fittingDividend(s, c.bytes, rm, size, signed, rnd));
                    cases.add(c);
                }
            }
        }
        return cases;
    }

    /** Chooses a non-zero divisor, a quotient that fits and a remainder, and writes the dividend. */
    static void fittingDividend(MachineState s, byte[] code, Encoder.Rm rm, int size, boolean signed, Random rnd) {
        int bits = size * 8;
        long mask = size == 8 ? -1L : (1L << bits) - 1;
        long d = Operands.read(s, code, rm, size);
        if (d == 0) {
            d = 1 + rnd.nextInt(5);
            Operands.write(s, code, rm, size, d);
        }
        if (rm.isRegister() && rm.register() == 0 && size == 1) {
            // div al: the divisor is part of the dividend; just keep AH below it.
            long ah = Long.remainderUnsigned(Values.edgeBiased(rnd), d);
            s.gpr[0] = (s.gpr[0] & ~0xFF00L) | (ah << 8);
            return;
        }
        long q = Values.edgeBiased(rnd) & mask;
        long sd = d << (64 - bits) >> (64 - bits);
        long hi;
        long lo;
        if (!signed) {
            long r = Long.remainderUnsigned(Values.edgeBiased(rnd), d);
            lo = q * d;
            hi = size == 8 ? Math.unsignedMultiplyHigh(q, d) : 0;
            long sum = lo + r;
            if (size == 8 && Long.compareUnsigned(sum, lo) < 0) {
                hi++;
            }
            lo = sum;
        } else {
            long sq = q << (64 - bits) >> (64 - bits);
            long r = Long.remainderUnsigned(Values.edgeBiased(rnd), Math.abs(sd)); // |MIN| reads as 2^63 unsigned
            long product = sq * sd;
            long productHigh = size == 8 ? Math.multiplyHigh(sq, sd) : product >> 63;
            boolean negative = size == 8 ? productHigh < 0 : product < 0;
            if (product == 0 && productHigh == 0) {
                negative = rnd.nextBoolean();
            }
            long sr = negative ? -r : r;
            lo = product + sr;
            hi = productHigh + (sr >> 63) + (Long.compareUnsigned(lo, product) < 0 ? 1 : 0);
        }
        if (size == 8) {
            s.gpr[Cpu.RAX] = lo;
            s.gpr[Cpu.RDX] = hi;
        } else if (size == 1) {
            Operands.writeRegister(s, Cpu.RAX, 2, lo);
        } else {
            Operands.writeRegister(s, Cpu.RAX, size, lo);
            Operands.writeRegister(s, Cpu.RDX, size, lo >>> bits);
        }
    }

    private static InstructionCase row(String hex, String note, long undefined) {
        return InstructionCase.of(hex).note(note).undefined(undefined).iterations(300);
    }

    @TestFactory
    Stream<DynamicTest> multiplies() {
        return Differential.tests(multiplyCases());
    }

    @TestFactory
    Stream<DynamicTest> divides() {
        return Differential.tests(divideCases());
    }

    /** A zero divisor, and dividends whose quotient overflows, raise #DE and change nothing. */
    @TestFactory
    Stream<DynamicTest> divideErrors() {
        List<InstructionCase> cases = new ArrayList<>();
        for (int size : SIZES) {
            String f6 = size == 1 ? "f6" : "f7";
            int divisor = size == 1 ? BH : 3;
            for (int op = DIV; op <= IDIV; op++) {
                boolean signed = op == IDIV;
                cases.add(InstructionCase.of(group("", size, f6, op, reg(divisor), "")).iterations(50)
                        .note(NAMES[op] + " by zero").adjust((s, rnd, insn) -> Operands.writeRegister(s, divisor, size, 0)));
                InstructionCase m = InstructionCase.of(group("", size, f6, op, Encoder.MEMORY.get(0), "")).iterations(50)
                        .note(NAMES[op] + " by zero in memory");
                m.adjust((s, rnd, insn) -> Operands.write(s, m.bytes, Encoder.MEMORY.get(0), size, 0));
                cases.add(m);
                cases.add(InstructionCase.of(group("", size, f6, op, reg(divisor), "")).iterations(50)
                        .note(NAMES[op] + " quotient overflow").adjust((s, rnd, insn) -> {
                            // Divisor 1 (or -1 signed) and a dividend beyond the quotient's range.
                            Operands.writeRegister(s, divisor, size, signed && rnd.nextBoolean() ? -1 : 1);
                            long high = signed ? 1 + rnd.nextInt(100) : 1 + rnd.nextInt(100);
                            if (size == 1) {
                                Operands.writeRegister(s, Cpu.RAX, 2, (high << 8) | 0x80);
                            } else {
                                Operands.writeRegister(s, Cpu.RDX, size, high);
                            }
                        }));
                if (signed) {
                    cases.add(InstructionCase.of(group("", size, f6, op, reg(divisor), "")).iterations(10)
                            .note("idiv most negative by -1").adjust((s, rnd, insn) -> {
                                Operands.writeRegister(s, divisor, size, -1);
                                long min = 1L << (size * 8 - 1);
                                if (size == 1) {
                                    Operands.writeRegister(s, Cpu.RAX, 2, 0xFF80);
                                } else {
                                    Operands.writeRegister(s, Cpu.RAX, size, min);
                                    Operands.writeRegister(s, Cpu.RDX, size, -1);
                                }
                            }));
                }
            }
        }
        return Differential.faultTests(cases, CpuFault.DE);
    }
}
