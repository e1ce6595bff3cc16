package dev.hako.soft.decode;

import static dev.hako.soft.decode.OpcodeTable.MAP_0F;
import static dev.hako.soft.decode.OpcodeTable.NP;
import static dev.hako.soft.decode.OpcodeTable.ONE_BYTE;

import dev.hako.soft.exec.Cpu;

/**
 * Writes a decoded instruction in AT&T syntax as GNU objdump and GDB show it: source operands first, {@code %}
 * registers, {@code $} immediates, {@code disp(base,index,scale)} memory, a size suffix on the mnemonic where no
 * register operand tells the size ({@code movl $0x0,(%rax)}), condition codes and objdump's names for the sign
 * and zero extensions ({@code movzbl}, {@code movslq}, {@code cltq}). Branch targets are absolute addresses.
 * Operand order comes from the encoding (the direction bit of the classic ALU and MOV opcodes, store forms of
 * the SSE moves); the x87 instructions show their memory operand or ST(i) only.
 */
final class AttSyntax {
    private static final String[] CONDITIONS = {"o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np",
        "l", "ge", "le", "g"};
    private static final String[] REG64 = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9",
        "r10", "r11", "r12", "r13", "r14", "r15"};
    private static final String[] REG32 = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d",
        "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"};
    private static final String[] REG16 = {"ax", "cx", "dx", "bx", "sp", "bp", "si", "di", "r8w", "r9w", "r10w",
        "r11w", "r12w", "r13w", "r14w", "r15w"};
    private static final String[] REG8 = {"al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil", "r8b", "r9b", "r10b",
        "r11b", "r12b", "r13b", "r14b", "r15b", "ah", "ch", "dh", "bh"};
    private static final String[] SEGMENTS = {"es", "cs", "ss", "ds", "fs", "gs"};
    /** Cpu.SEG_* to the name of the override. */
    private static final String[] OVERRIDE = {null, "fs", "gs", "es", "cs", "ss", "ds"};

    private static final String[] PREFETCH = {"prefetchnta", "prefetcht0", "prefetcht1", "prefetcht2"};

    private AttSyntax() {}

    /** F3 0F 1E FA/FB: a hint NOP to CPUs without CET, which objdump names. */
    private static boolean isEndbr(Insn i) {
        return i.map == MAP_0F && i.opcode == 0x1E && i.rep == Insn.REP && (i.modrm == 0xFA || i.modrm == 0xFB);
    }

    /** 90 without REX.B is NOP, not XCHG of EAX with itself (which would clear RAX's upper half). */
    private static boolean isNop90(Insn i) {
        return i.map == ONE_BYTE && i.opcode == 0x90 && i.reg == 0 && i.opSize != 2;
    }

    /** The string instructions' implicit operands, as objdump spells them out. */
    private static String stringOperands(Insn i, int mode) {
        String[] names = i.addrSize == 8 ? REG64 : i.addrSize == 4 ? REG32 : REG16;
        String src = "%" + (i.segment == Cpu.SEG_NONE || i.segment == Cpu.SEG_DS ? "ds" : OVERRIDE[i.segment])
                + ":(%" + names[Cpu.RSI] + ")";
        String dst = "%es:(%" + names[Cpu.RDI] + ")";
        String acc = "%" + gpr(Cpu.RAX, i.opSize);
        return switch (i.spec.mnemonic) {
            case "movs" -> src + "," + dst;
            case "cmps" -> dst + "," + src;
            case "stos" -> acc + "," + dst;
            case "lods" -> src + "," + acc;
            case "scas" -> dst + "," + acc;
            case "ins" -> "(%dx)," + dst;
            case "outs" -> src + ",(%dx)";
            default -> null;
        };
    }
    /** The mnemonic with its condition code, extension names and size suffix. */
    static String mnemonic(Insn i, int mode) {
        String m = i.spec.mnemonic;
        if (isEndbr(i)) {
            return i.modrm == 0xFA ? "endbr64" : "endbr32";
        }
        String prefix = i.lock ? "lock " : i.rep == Insn.REP ? "rep " : i.rep == Insn.REPNE ? "repnz " : "";
        if (isNop90(i)) {
            return prefix.isEmpty() ? "nop" : prefix.trim();
        }
        if (i.map == MAP_0F && i.opcode == 0x18 && (i.reg & 7) < 4) {
            return PREFETCH[i.reg & 7];
        }
        switch (m) {
            case "j", "set", "cmov" -> m = m + CONDITIONS[i.sub & 15];
            case "movzx", "movsx" -> m = m.substring(0, 4) + ((i.opcode & 1) == 0 ? 'b' : 'w') + suffix(i.opSize);
            case "movsxd" -> m = "movs" + "l" + suffix(i.opSize);
            case "cbw" -> m = i.opSize == 2 ? "cbtw" : i.opSize == 4 ? "cwtl" : "cltq";
            case "cwd" -> m = i.opSize == 2 ? "cwtd" : i.opSize == 4 ? "cltd" : "cqto";
            case "movs", "cmps", "ins", "outs" -> m = m + suffix(i.opSize);
            case "movd" -> m = i.rexW ? "movq" : m;
            case "mov" -> {
                if (i.map == ONE_BYTE && i.opcode >= 0xB8 && i.opcode <= 0xBF && i.opSize == 8
                        || i.map == ONE_BYTE && i.opcode >= 0xA0 && i.opcode <= 0xA3 && mode == Cpu.MODE_64) {
                    m = "movabs";
                } else if (needsSuffix(i)) {
                    m = m + suffix(i.opSize);
                }
            }
            default -> {
                if (needsSuffix(i)) {
                    m = m + suffix(i.opSize);
                }
            }
        }
        return prefix + m;
    }

    /** Integer instructions whose only sized operand is in memory carry the size in the mnemonic. */
    private static boolean needsSuffix(Insn i) {
        if (!i.spec.has(OpSpec.MODRM) || i.rmIsReg || isVector(i) || isX87(i)) {
            return false;
        }
        String m = i.spec.mnemonic;
        if (m.equals("lea") || m.equals("call") || m.equals("jmp") || m.startsWith("set") || m.startsWith("l")
                && (m.equals("lgdt") || m.equals("lidt") || m.equals("lldt") || m.equals("ltr") || m.equals("lmsw"))
                || m.startsWith("s") && (m.equals("sgdt") || m.equals("sidt") || m.equals("sldt") || m.equals("str")
                || m.equals("smsw")) || m.equals("invlpg") || m.startsWith("fx") || m.equals("clflush")
                || m.equals("cmpxchg8b") || m.equals("ldmxcsr") || m.equals("stmxcsr") || m.startsWith("prefetch")) {
            return false;
        }
        int op = i.opcode;
        if (i.map == ONE_BYTE) {
            // Opcodes with a register operand beside the memory one name the size by that register.
            boolean immOrSingle = op >= 0x80 && op <= 0x83 || op == 0xC6 || op == 0xC7 || op >= 0xC0 && op <= 0xC1
                    || op >= 0xD0 && op <= 0xD3 || op == 0xF6 || op == 0xF7 || op == 0xFE || op == 0xFF || op == 0x8F;
            return immOrSingle;
        }
        return i.map == MAP_0F && (op == 0xBA || op == 0x1F || op == 0x00 && (i.reg & 7) >= 2);
    }

    private static char suffix(int size) {
        return switch (size) {
            case 1 -> 'b';
            case 2 -> 'w';
            case 4 -> 'l';
            default -> 'q';
        };
    }

    /** The operands, sources first, separated by commas; empty for none. */
    static String operands(Insn i, int mode) {
        StringBuilder sb = new StringBuilder();
        int op = i.opcode;
        String m = i.spec.mnemonic;
        if (i.spec.immediate == OpSpec.JB || i.spec.immediate == OpSpec.JZ) {
            return "0x" + Long.toHexString(i.imm);
        }
        if (isEndbr(i) || isNop90(i) || m.endsWith("fence")) {
            return "";
        }
        String strings = i.spec.has(OpSpec.MODRM) ? null : stringOperands(i, mode);
        if (strings != null) {
            return strings;
        }
        if (isX87(i)) {
            return i.rmIsReg ? "%st(" + (i.modrm & 7) + ")" : memory(i, mode);
        }
        if (i.spec.has(OpSpec.MODRM)) {
            return modrmOperands(i, mode);
        }
        if (i.spec.has(OpSpec.OPREG)) {
            String reg = "%" + gpr(i.reg, i.spec.has(OpSpec.BYTE) ? 1 : i.opSize);
            if (m.equals("xchg")) {
                return reg + ",%" + gpr(Cpu.RAX, i.opSize);
            }
            if (i.spec.immediate != OpSpec.IMM_NONE) {
                return immediate(i) + "," + reg;
            }
            return m.equals("pause") ? "" : reg;
        }
        if (i.map != ONE_BYTE) {
            return "";
        }
        if (op <= 0x3F && (op & 7) >= 4 && (op & 7) <= 5 || op == 0xA8 || op == 0xA9) {
            return immediate(i) + ",%" + gpr(Cpu.RAX, i.opSize);
        }
        switch (op) {
            case 0xE4, 0xE5 -> sb.append(String.format("$0x%x", i.imm)).append(",%").append(gpr(Cpu.RAX, i.opSize));
            case 0xE6, 0xE7 -> sb.append('%').append(gpr(Cpu.RAX, i.opSize)).append(String.format(",$0x%x", i.imm));
            case 0xEC, 0xED -> sb.append("(%dx),%").append(gpr(Cpu.RAX, i.opSize));
            case 0xEE, 0xEF -> sb.append('%').append(gpr(Cpu.RAX, i.opSize)).append(",(%dx)");
            case 0xA0, 0xA1 -> sb.append(moffs(i)).append(",%").append(gpr(Cpu.RAX, i.opSize));
            case 0xA2, 0xA3 -> sb.append('%').append(gpr(Cpu.RAX, i.opSize)).append(',').append(moffs(i));
            case 0xC8 -> sb.append(String.format("$0x%x,$0x%x", i.imm & 0xFFFF, i.imm2 & 0xFF));
            case 0xCD -> sb.append(String.format("$0x%x", i.imm & 0xFF));
            case 0xC2, 0xCA -> sb.append(String.format("$0x%x", i.imm & 0xFFFF));
            case 0x68, 0x6A -> sb.append(immediate(i));
            case 0xEA, 0x9A -> sb.append(String.format("$0x%x,$0x%x", i.imm2 & 0xFFFF, i.imm));
            default -> { }
        }
        return sb.toString();
    }

    private static String modrmOperands(Insn i, int mode) {
        int op = i.opcode;
        String rm = i.rmIsReg ? "%" + rmRegister(i) : memory(i, mode);
        String reg = "%" + regRegister(i);
        if (i.map == ONE_BYTE) {
            if (op <= 0x3F || op >= 0x84 && op <= 0x8B) {
                boolean toReg = op <= 0x3F ? (op & 2) != 0 : op >= 0x8A;
                return toReg ? rm + "," + reg : reg + "," + rm;
            }
            switch (op) {
                case 0x8C -> {
                    return "%" + SEGMENTS[i.reg & 7] + "," + rm;
                }
                case 0x8E -> {
                    return rm + ",%" + SEGMENTS[i.reg & 7];
                }
                case 0x63, 0x8D, 0x62, 0xC4, 0xC5 -> {
                    return rm + "," + reg;
                }
                case 0x69, 0x6B -> {
                    return immediate(i) + "," + rm + "," + reg;
                }
                case 0xD0, 0xD1 -> {
                    return rm;
                }
                case 0xD2, 0xD3 -> {
                    return "%cl," + rm;
                }
                case 0xFF -> {
                    int r = i.reg & 7;
                    return r >= 2 && r <= 5 ? "*" + rm : rm;
                }
                default -> {
                    return i.spec.immediate == OpSpec.IMM_NONE ? rm : immediate(i) + "," + rm;
                }
            }
        }
        if (i.map == MAP_0F) {
            switch (op) {
                case 0x20, 0x21 -> {
                    return "%" + (op == 0x20 ? "cr" : "db") + i.reg + ",%" + REG64[i.rm];
                }
                case 0x22, 0x23 -> {
                    return "%" + REG64[i.rm] + ",%" + (op == 0x22 ? "cr" : "db") + i.reg;
                }
                case 0xA3, 0xAB, 0xB3, 0xBB, 0xB0, 0xB1, 0xC0, 0xC1, 0xC3, 0x11, 0x13, 0x17, 0x29, 0x2B, 0x7F, 0xE7,
                        0xD6 -> {
                    return reg + "," + rm;
                }
                case 0x7E -> {
                    return i.mandatoryPrefix == OpcodeTable.PF3 ? rm + "," + reg : reg + "," + rm;
                }
                case 0xA4, 0xAC -> {
                    return immediate(i) + "," + reg + "," + rm;
                }
                case 0xA5, 0xAD -> {
                    return "%cl," + reg + "," + rm;
                }
                default -> { }
            }
            if (op >= 0x90 && op <= 0x9F || op == 0x00 || op == 0x01 || op == 0x18 || op == 0x1F || op == 0x0D
                    || op == 0xAE || op == 0xC7) {
                return rm;
            }
            if (op == 0xBA) {
                return immediate(i) + "," + rm;
            }
        }
        if (i.spec.immediate != OpSpec.IMM_NONE) {
            return String.format("$0x%x", i.imm & 0xFF) + "," + rm + "," + reg;
        }
        return rm + "," + reg;
    }

    /** The ModRM.reg operand: a GPR, or a vector register for SSE and MMX forms (except GPR results). */
    private static String regRegister(Insn i) {
        if (isVector(i)) {
            int op = i.opcode;
            boolean gpr = i.map == MAP_0F && (op == 0x50 || op == 0xD7 || op == 0xC5
                    || (op == 0x2C || op == 0x2D) && (i.mandatoryPrefix == OpcodeTable.PF3
                    || i.mandatoryPrefix == OpcodeTable.PF2));
            if (gpr) {
                return gpr(i.reg, i.opSize == 8 ? 8 : 4);
            }
            return vector(i, i.reg, true);
        }
        int size = i.spec.has(OpSpec.BYTE) ? 1 : i.opSize;
        return gpr(i.reg, size);
    }

    private static String rmRegister(Insn i) {
        if (isVector(i)) {
            int op = i.opcode;
            boolean gpr = i.map == MAP_0F && (op == 0x6E || op == 0x7E && i.mandatoryPrefix != OpcodeTable.PF3
                    || op == 0xC4 || op == 0x2A && (i.mandatoryPrefix == OpcodeTable.PF3
                    || i.mandatoryPrefix == OpcodeTable.PF2));
            if (gpr) {
                return gpr(i.rm, i.rexW ? 8 : 4);
            }
            return vector(i, i.rm, false);
        }
        int size = i.spec.has(OpSpec.BYTE) || i.spec.has(OpSpec.BYTE_RM) ? 1
                : i.map == MAP_0F && (i.opcode == 0xB7 || i.opcode == 0xBF) ? 2
                : i.map == ONE_BYTE && i.opcode == 0x63 ? 4 : i.opSize;
        return gpr(i.rm, size);
    }

    /** MMX registers for the unprefixed forms of the integer SIMD opcodes, XMM otherwise. */
    private static String vector(Insn i, int r, boolean isReg) {
        int op = i.opcode;
        boolean mmx = i.mandatoryPrefix == NP && i.map == MAP_0F && (op >= 0x60 && op <= 0x7F || op >= 0xD0)
                && op != 0x77;
        if (i.map == MAP_0F && i.mandatoryPrefix == OpcodeTable.PF3 && op == 0xD6) {
            mmx = !isReg; // movq2dq %mm,%xmm
        } else if (i.map == MAP_0F && i.mandatoryPrefix == OpcodeTable.PF2 && op == 0xD6) {
            mmx = isReg; // movdq2q %xmm,%mm
        } else if (i.map == MAP_0F && (op == 0x2A || op == 0x2C || op == 0x2D)
                && (i.mandatoryPrefix == NP || i.mandatoryPrefix == OpcodeTable.P66)) {
            mmx = (op == 0x2A) != isReg; // cvtpi2ps %mm,%xmm; cvtps2pi %xmm,%mm
        }
        return mmx ? "mm" + (r & 7) : "xmm" + r;
    }

    private static boolean isVector(Insn i) {
        if (i.map == OpcodeTable.MAP_0F38 || i.map == OpcodeTable.MAP_0F3A) {
            return true;
        }
        int op = i.opcode;
        return i.map == MAP_0F && (op >= 0x10 && op <= 0x17 || op >= 0x28 && op <= 0x2F || op >= 0x50 && op <= 0x7F
                || op == 0xC2 || op >= 0xC4 && op <= 0xC6 || op >= 0xD0);
    }

    private static boolean isX87(Insn i) {
        return i.map == ONE_BYTE && i.opcode >= 0xD8 && i.opcode <= 0xDF;
    }

    private static String gpr(int r, int size) {
        return switch (size) {
            case 1 -> REG8[r];
            case 2 -> REG16[r & 15];
            case 4 -> REG32[r & 15];
            default -> REG64[r & 15];
        };
    }

    /** An immediate as objdump shows it: two's complement within the operand size. */
    private static String immediate(Insn i) {
        int size = i.spec.has(OpSpec.BYTE) ? 1 : i.opSize;
        long mask = size == 8 ? -1L : (1L << (size * 8)) - 1;
        return "$0x" + Long.toHexString(i.imm & mask);
    }

    private static String moffs(Insn i) {
        String seg = OVERRIDE[i.segment];
        return (seg == null || i.segment == Cpu.SEG_DS ? "" : "%" + seg + ":") + "0x" + Long.toHexString(i.disp);
    }

    private static String memory(Insn i, int mode) {
        StringBuilder sb = new StringBuilder();
        boolean defaultSegment = mode != Cpu.MODE_64 && (i.segment == Cpu.SEG_DS
                || i.segment == Cpu.SEG_SS && (i.base == Cpu.RBP || i.base == Cpu.RSP));
        if (i.segment != Cpu.SEG_NONE && !defaultSegment) {
            sb.append('%').append(OVERRIDE[i.segment]).append(':');
        }
        String[] names = i.addrSize == 8 ? REG64 : i.addrSize == 4 ? REG32 : REG16;
        if (i.ripRelative) {
            long rel = i.disp - i.next;
            sb.append(rel < 0 ? "-0x" + Long.toHexString(-rel) : "0x" + Long.toHexString(rel)).append("(%rip)");
            return sb.toString();
        }
        if (i.base < 0 && i.index < 0) {
            return sb.append("0x").append(Long.toHexString(i.addrSize == 8 ? i.disp : i.disp & 0xFFFFFFFFL))
                    .toString();
        }
        int mod = i.modrm >>> 6;
        if (i.disp != 0 || i.base < 0 || mod == 1 || mod == 2) {
            sb.append(i.disp < 0 ? "-0x" + Long.toHexString(-i.disp) : "0x" + Long.toHexString(i.disp));
        }
        sb.append('(');
        if (i.base >= 0) {
            sb.append('%').append(names[i.base]);
        }
        if (i.index >= 0) {
            sb.append(",%").append(names[i.index]).append(',').append(1 << i.scale);
        }
        return sb.append(')').toString();
    }
}
