package dev.hako.soft.translate;

import static dev.hako.soft.decode.OpcodeTable.MAP_0F;
import static dev.hako.soft.decode.OpcodeTable.ONE_BYTE;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.translate.ArithmeticForms.Operand;

/**
 * Picks the inline form for a decoded instruction by opcode map, opcode and ModRM.reg; each form also
 * checks the mnemonic, so a prefix-selected or undefined encoding in the same slot is never mistaken for
 * it. Instructions with no form here (LOCK-prefixed ones, and those the decoder gave another handler, such as
 * a branch to a non-canonical target) run through their interpreter handler.
 */
final class InsnForms {
    /** Mnemonics kept on their interpreter handlers ({@code hako.translate.fallback}, comma-separated). */
    private static final java.util.Set<String> FORCED_FALLBACK =
            java.util.Set.of(System.getProperty("hako.translate.fallback", "").split(","));

    private InsnForms() {}

    /** True if {@code i} has an inline form (which is then emitted). */
    static boolean emit(BlockEmitter e, Insn i) {
        if (i.lock || i.spec.mnemonic == null || i.exec != i.spec.exec || FORCED_FALLBACK.contains(i.spec.mnemonic)) {
            return false;
        }
        return switch (i.map) {
            case ONE_BYTE -> oneByte(e, i);
            case MAP_0F -> twoByte(e, i);
            default -> false;
        };
    }

    private static boolean oneByte(BlockEmitter e, Insn i) {
        int op = i.opcode;
        int group = (i.modrm >> 3) & 7;
        if (op < 0x40 && (op & 7) < 6) {
            int alu = op >> 3;
            return switch (op & 7) {
                case 0, 1 -> ArithmeticForms.alu(e, i, alu, Operand.RM, Operand.REG);
                case 2, 3 -> ArithmeticForms.alu(e, i, alu, Operand.REG, Operand.RM);
                default -> ArithmeticForms.alu(e, i, alu, Operand.RAX, Operand.IMM);
            };
        }
        if (op >= 0x50 && op <= 0x57) {
            return "push".equals(i.spec.mnemonic) && TransferForms.push(e, i, false);
        }
        if (op >= 0x58 && op <= 0x5F) {
            return "pop".equals(i.spec.mnemonic) && TransferForms.pop(e, i);
        }
        if (op >= 0x70 && op <= 0x7F) {
            return jcc(e, i);
        }
        if (op >= 0x90 && op <= 0x97) {
            return TransferForms.xchg(e, i, i.reg, 0);
        }
        if (op >= 0xB0 && op <= 0xBF) {
            return mnemonic(i, "mov") && run(() -> TransferForms.movRegImmediate(e, i));
        }
        return switch (op) {
            case 0x80, 0x81, 0x83 -> ArithmeticForms.alu(e, i, group, Operand.RM, Operand.IMM);
            case 0x84, 0x85 -> ArithmeticForms.test(e, i, Operand.RM, Operand.REG);
            case 0xA8, 0xA9 -> ArithmeticForms.test(e, i, Operand.RAX, Operand.IMM);
            case 0x86, 0x87 -> i.rmIsReg && TransferForms.xchg(e, i, i.reg, i.rm);
            case 0x88, 0x89 -> mnemonic(i, "mov") && run(() -> TransferForms.movStore(e, i));
            case 0x8A, 0x8B -> mnemonic(i, "mov") && run(() -> TransferForms.movLoad(e, i, i.opSize));
            case 0x8D -> mnemonic(i, "lea") && run(() -> TransferForms.lea(e, i));
            case 0x63 -> mnemonic(i, "movsxd") && run(() -> TransferForms.movsx(e, i));
            case 0x68, 0x6A -> mnemonic(i, "push") && TransferForms.push(e, i, true);
            case 0x69, 0x6B -> ArithmeticForms.imul(e, i, true);
            case 0x98 -> mnemonic(i, "cbw") && run(() -> TransferForms.signExtendRax(e, i));
            case 0x99 -> mnemonic(i, "cwd") && run(() -> TransferForms.signExtendIntoRdx(e, i));
            case 0xC0, 0xC1 -> shift(e, i, (int) i.imm);
            case 0xD0, 0xD1 -> shift(e, i, 1);
            case 0xD2, 0xD3 -> shiftMnemonic(i) && ArithmeticForms.shiftByCl(e, i);
            case 0xC2, 0xC3 -> mnemonic(i, "ret") && TransferForms.ret(e, i);
            case 0xC6, 0xC7 -> mnemonic(i, "mov") && run(() -> TransferForms.movImmediate(e, i));
            case 0xE8 -> mnemonic(i, "call") && TransferForms.call(e, i, false);
            case 0xE9, 0xEB -> mnemonic(i, "jmp") && run(() -> TransferForms.jmp(e, i));
            case 0xF6, 0xF7 -> switch (group) {
                case 0, 1 -> ArithmeticForms.test(e, i, Operand.RM, Operand.IMM);
                case 2 -> ArithmeticForms.notNeg(e, i, false);
                case 3 -> ArithmeticForms.notNeg(e, i, true);
                case 4 -> MultiplyForms.wideMultiply(e, i, false);
                case 5 -> MultiplyForms.wideMultiply(e, i, true);
                case 6 -> MultiplyForms.divide(e, i);
                default -> false;
            };
            case 0xFE, 0xFF -> switch (group) {
                case 0 -> ArithmeticForms.incDec(e, i, false);
                case 1 -> ArithmeticForms.incDec(e, i, true);
                case 2 -> op == 0xFF && mnemonic(i, "call") && TransferForms.call(e, i, true);
                case 4 -> op == 0xFF && mnemonic(i, "jmp") && TransferForms.jmpIndirect(e, i);
                default -> false;
            };
            default -> false;
        };
    }

    private static boolean twoByte(BlockEmitter e, Insn i) {
        int op = i.opcode;
        if (op >= 0x80 && op <= 0x8F) {
            return jcc(e, i);
        }
        if (op >= 0x40 && op <= 0x4F) {
            return mnemonic(i, "cmov") && run(() -> TransferForms.cmov(e, i));
        }
        if (op >= 0x90 && op <= 0x9F) {
            return mnemonic(i, "set") && run(() -> TransferForms.setcc(e, i));
        }
        if (op >= 0xC8 && op <= 0xCF) {
            return mnemonic(i, "bswap") && run(() -> TransferForms.bswap(e, i));
        }
        if (op >= 0x18 && op <= 0x1F) {
            return mnemonic(i, "nop"); // hint NOPs: no operand is accessed
        }
        return switch (op) {
            case 0xB6, 0xB7 -> mnemonic(i, "movzx") && run(() -> TransferForms.movLoad(e, i, i.sub));
            case 0xBE, 0xBF -> mnemonic(i, "movsx") && run(() -> TransferForms.movsx(e, i));
            case 0xAF -> ArithmeticForms.imul(e, i, false);
            case 0xA3, 0xAB, 0xB3, 0xBB -> BitForms.bitTest(e, i, false);
            case 0xBA -> BitForms.bitTest(e, i, true);
            case 0xBC, 0xBD -> BitForms.scan(e, i);
            case 0xA4, 0xAC -> ArithmeticForms.doubleShift(e, i, false);
            case 0xA5, 0xAD -> ArithmeticForms.doubleShift(e, i, true);
            default -> SseForms.emit(e, i);
        };
    }

    private static boolean jcc(BlockEmitter e, Insn i) {
        return mnemonic(i, "j") && run(() -> TransferForms.jcc(e, i));
    }

    private static boolean shift(BlockEmitter e, Insn i, int count) {
        return shiftMnemonic(i) && ArithmeticForms.shiftByConstant(e, i, count);
    }

    private static boolean shiftMnemonic(Insn i) {
        String m = i.spec.mnemonic;
        return m.equals("rol") || m.equals("ror") || m.equals("shl") || m.equals("shr") || m.equals("sal")
                || m.equals("sar") || m.equals("rcl") || m.equals("rcr");
    }

    private static boolean mnemonic(Insn i, String expected) {
        return expected.equals(i.spec.mnemonic);
    }

    private static boolean run(Runnable emitter) {
        emitter.run();
        return true;
    }
}
