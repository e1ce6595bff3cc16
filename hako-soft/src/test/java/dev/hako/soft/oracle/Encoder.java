package dev.hako.soft.oracle;

import java.util.HexFormat;
import java.util.List;

/**
 * Encodes instruction forms as hex for case tables, independently of the soft decoder: legacy prefixes,
 * 66h for 16-bit operands, 67h for 32-bit addresses, REX (W, R, X, B, or a bare 40h where SPL..DIL need it),
 * the opcode, ModRM with SIB and displacement, and the immediate.
 *
 * <p>Register numbers are 0..15 (RAX..R15; as bytes AL..R15B, 4..7 being SPL..DIL, which need REX) and
 * {@link #AH}..{@link #BH} for the legacy high-byte registers, which cannot be encoded with REX.
 */
final class Encoder {
    static final int AH = 16, CH = 17, DH = 18, BH = 19;
    static final String[] BYTE_NAMES = {"al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil", "r8b", "r9b", "r10b",
        "r11b", "r12b", "r13b", "r14b", "r15b", "ah", "ch", "dh", "bh"};

    private Encoder() {}

    /**
     * An r/m operand: a register, or a memory addressing mode given by mod, rm, the SIB/displacement bytes
     * that follow ModRM, and its REX.X / REX.B bits.
     */
    record Rm(boolean isRegister, int register, int mod, int rm, String tail, int rexX, int rexB, boolean addr32,
            String name) {
        boolean ripRelative() {
            return !isRegister && mod == 0 && rm == 5;
        }

        /** The registers the address uses, as ModRM/SIB name them (for tables that must avoid them). */
        boolean uses(int reg) {
            return !isRegister && name.contains(Encoder.name64(reg));
        }
    }

    static Rm reg(int r) {
        return new Rm(true, r, 3, r & 7, "", 0, r >= 8 && r < 16 ? 1 : 0, false, "r" + r);
    }

    static Rm mem(int mod, int rm, String tail, int rexX, int rexB, boolean addr32, String name) {
        return new Rm(false, -1, mod, rm, tail, rexX, rexB, addr32, name);
    }

    /** A spread of addressing modes: every ModRM/SIB shape, REX.X/B, 32-bit addressing; no RIP-relative. */
    static final List<Rm> MEMORY = List.of(
            mem(0, 3, "", 0, 0, false, "[rbx]"),
            mem(1, 6, "10", 0, 0, false, "[rsi+0x10]"),
            mem(1, 4, "8d f0", 0, 0, false, "[rbp+rcx*4-0x10]"),
            mem(0, 4, "5b", 0, 0, false, "[rbx+rbx*2]"),
            mem(2, 0, "78 56 34 12", 0, 0, false, "[rax+0x12345678]"),
            mem(1, 5, "00", 0, 0, false, "[rbp+0]"),
            mem(0, 4, "0c", 1, 1, false, "[r12+r9]"),
            mem(1, 5, "f8", 0, 1, false, "[r13-8]"),
            mem(1, 4, "24 18", 0, 0, false, "[rsp+0x18]"),
            mem(0, 4, "d5 00 10 00 00", 0, 0, false, "[rdx*8+0x1000]"),
            mem(0, 3, "", 0, 0, true, "[ebx]"),
            mem(1, 4, "7e 7f", 0, 0, true, "[esi+edi*2+0x7f]"),
            mem(2, 4, "c7 00 00 00 80", 0, 1, false, "[r15+rax*8-0x80000000]"));

    /** RIP-relative, 0x100 bytes back: reads trampoline code, the same bytes on both CPUs. */
    static final Rm RIP_RELATIVE = mem(0, 5, "00 ff ff ff", 0, 0, false, "[rip-0x100]");

    private static final String[] NAMES64 = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9",
        "r10", "r11", "r12", "r13", "r14", "r15"};

    static String name64(int reg) {
        return NAMES64[reg];
    }

    /** The instruction {@code prefixes opcode reg,rm imm} at operand size {@code size} (1, 2, 4, 8), as hex. */
    static String encode(String prefixes, int size, String opcode, int reg, Rm rm, String imm) {
        return encode(prefixes, size, opcode, reg, false, rm, imm);
    }

    /** A group opcode: {@code prefixes opcode /digit rm imm}. */
    static String group(String prefixes, int size, String opcode, int digit, Rm rm, String imm) {
        return encode(prefixes, size, opcode, digit, true, rm, imm);
    }

    private static String encode(String prefixes, int size, String opcode, int reg, boolean digit, Rm rm,
            String imm) {
        StringBuilder sb = new StringBuilder(prefixes.trim());
        if (size == 2) {
            sb.append(" 66");
        }
        if (rm.addr32()) {
            sb.append(" 67");
        }
        boolean high = reg >= AH || (rm.isRegister() && rm.register() >= AH);
        boolean byteNeedsRex = size == 1 && ((!digit && reg >= 4 && reg < 8) || (rm.isRegister() && rm.register() >= 4
                && rm.register() < 8));
        int rex = 0x40 | (size == 8 ? 8 : 0) | (reg >= 8 && reg < 16 ? 4 : 0) | (rm.rexX() << 1) | rm.rexB();
        if (rex != 0x40 || byteNeedsRex) {
            if (high) {
                throw new IllegalArgumentException("AH..BH cannot be encoded with a REX prefix");
            }
            sb.append(String.format(" %02x", rex));
        }
        sb.append(' ').append(opcode.trim());
        int modrm = (rm.mod() << 6) | ((reg & 7) << 3) | (rm.isRegister() ? rm.register() & 7 : rm.rm());
        if (rm.isRegister() && rm.register() >= AH) {
            modrm = 0xC0 | ((reg & 7) << 3) | (rm.register() - AH + 4);
        }
        if (reg >= AH) {
            modrm = (modrm & ~0x38) | ((reg - AH + 4) << 3);
        }
        sb.append(String.format(" %02x", modrm));
        if (!rm.tail().isEmpty()) {
            sb.append(' ').append(rm.tail());
        }
        if (!imm.isEmpty()) {
            sb.append(' ').append(imm.trim());
        }
        return sb.toString().trim();
    }

    /** Little-endian hex of the low {@code bytes} bytes of {@code value}. */
    static String imm(long value, int bytes) {
        byte[] b = new byte[bytes];
        for (int k = 0; k < bytes; k++) {
            b[k] = (byte) (value >>> (8 * k));
        }
        return HexFormat.ofDelimiter(" ").formatHex(b);
    }
}
