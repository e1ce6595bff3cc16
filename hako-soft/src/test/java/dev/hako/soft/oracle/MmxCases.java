package dev.hako.soft.oracle;

import java.util.HexFormat;
import java.util.Random;

/**
 * Building blocks for the MMX differential tables: encodings with MMX operands, quadwords of packed elements
 * weighted towards the sign and saturation edges of bytes, words and doublewords, and an x87 unit in any
 * state an MMX instruction may meet: any TOP, any tags, any FCW rounding and precision (exceptions masked),
 * FSW condition codes and sticky flags with nothing pending, and register exponents that are all ones (an
 * earlier MMX write) or anything.
 */
final class MmxCases {
    /** Pairs of (reg, rm) operands; 9, 10 and 11 carry REX.R or REX.B, which an MMX register number ignores. */
    static final int[][] REG_PAIRS = {{1, 2}, {0, 7}, {5, 5}, {9, 10}, {6, 11}};
    private static final long[] ELEMENT_EDGES = {0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0xFF80, 0x807F,
        0x0100, 0xFFFE, 0x8001, 0x7FFE};

    private MmxCases() {}

    /** {@code prefix 0F opcode /r} with MMX (or XMM or GPR) {@code reg}, r/m {@code rm}, REX.W when {@code wide}. */
    static String mmx(String prefix, String opcode, int reg, Encoder.Rm rm, boolean wide, String imm) {
        return Encoder.encode(prefix, wide ? 8 : 4, "0f " + opcode, reg, rm, imm);
    }

    /** A quadword whose bytes, words and doublewords often sit at their edges. */
    static long packed(Random rnd) {
        return switch (rnd.nextInt(4)) {
            case 0 -> rnd.nextLong();
            case 1 -> Values.edgeBiased(rnd);
            default -> {
                long v = 0;
                for (int k = 0; k < 4; k++) {
                    long word = rnd.nextInt(3) == 0 ? rnd.nextInt(0x10000)
                            : ELEMENT_EDGES[rnd.nextInt(ELEMENT_EDGES.length)];
                    v |= word << (16 * k);
                }
                yield rnd.nextInt(4) == 0 ? Long.rotateLeft(v, 8) : v;
            }
        };
    }

    /** Register MM{@code n} (physical x87 register n) of an input's FXSAVE image, which stores ST(i). */
    static void setMm(MachineState s, int n, long value) {
        int k = (n - FxsaveImage.top(s.fxsave)) & 7;
        FxsaveImage.setSt(s.fxsave, k, value, FxsaveImage.stSignExponent(s.fxsave, k));
    }

    /** The x87 unit in a random state an MMX instruction may find, MXCSR kept. */
    static InstructionCase.Adjuster x87State() {
        return (s, rnd, insn) -> {
            int top = rnd.nextInt(8);
            int tags = switch (rnd.nextInt(3)) {
                case 0 -> 0;
                case 1 -> 0xFF;
                default -> rnd.nextInt(256);
            };
            int fsw = (top << 11) | (rnd.nextInt(0x10000) & 0x4700) | (rnd.nextBoolean() ? rnd.nextInt(0x80) : 0);
            FxsaveImage.setControl(s.fxsave, X87Inputs.controlWord(rnd), fsw, tags, FxsaveImage.mxcsr(s.fxsave));
            for (int n = 0; n < 8; n++) {
                int se = rnd.nextBoolean() ? 0xFFFF : rnd.nextInt(0x10000);
                FxsaveImage.setSt(s.fxsave, (n - top) & 7, packed(rnd), se);
            }
        };
    }

    /** A packed quadword at the memory operand of {@code hex}. */
    static InstructionCase.Adjuster memory(String hex) {
        byte[] code = HexFormat.of().parseHex(hex.replaceAll("\\s+", ""));
        return (s, rnd, insn) -> {
            MemoryOperand m = MemoryOperand.of(code).orElseThrow();
            s.write(m.address(s.gpr, insn + code.length), 8, packed(rnd));
        };
    }

    /** An unmasked x87 exception pending (IE flagged and unmasked, ES and B set): MMX must raise #MF. */
    static InstructionCase.Adjuster pendingException() {
        return (s, rnd, insn) -> {
            byte[] f = s.fxsave;
            FxsaveImage.setControl(f, FxsaveImage.fcw(f) & ~1, FxsaveImage.fsw(f) | 0x8081, FxsaveImage.ftw(f),
                    FxsaveImage.mxcsr(f));
        };
    }
}
