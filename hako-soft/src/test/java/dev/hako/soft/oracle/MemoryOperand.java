package dev.hako.soft.oracle;

import java.util.BitSet;
import java.util.Optional;

/**
 * The ModRM memory operand of an instruction's bytes, found independently of the soft decoder (whose
 * mistakes must not aim the host's accesses outside the data pages): legacy prefixes, REX, the opcode
 * maps, and which opcodes carry a ModRM byte in 64-bit mode (SDM vol. 2, appendix A). VEX is not handled.
 *
 * @param base   base register, or -1
 * @param index  index register, or -1
 * @param scale  log2 of the scale
 * @param disp   sign-extended displacement
 * @param ripRelative whether the address is RIP + disp (then base and index are -1)
 * @param addr32 whether a 67h prefix makes the address 32 bits
 * @param locked whether a LOCK prefix is present
 */
record MemoryOperand(int base, int index, int scale, long disp, boolean ripRelative, boolean addr32, boolean locked) {
    private static final BitSet ONE_BYTE_MODRM = new BitSet(256);
    private static final BitSet MAP_0F_NO_MODRM = new BitSet(256);

    static {
        for (int row = 0; row < 0x40; row += 8) {
            ONE_BYTE_MODRM.set(row, row + 4); // ALU ops Eb,Gb Ev,Gv Gb,Eb Gv,Ev
        }
        ONE_BYTE_MODRM.set(0x62, 0x64);
        ONE_BYTE_MODRM.set(0x69);
        ONE_BYTE_MODRM.set(0x6B);
        ONE_BYTE_MODRM.set(0x80, 0x90);
        ONE_BYTE_MODRM.set(0xC0, 0xC2);
        ONE_BYTE_MODRM.set(0xC6, 0xC8);
        ONE_BYTE_MODRM.set(0xD0, 0xD4);
        ONE_BYTE_MODRM.set(0xD8, 0xE0);
        ONE_BYTE_MODRM.set(0xF6, 0xF8);
        ONE_BYTE_MODRM.set(0xFE, 0x100);
        for (int op : new int[] {0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0E, 0x77, 0xA0, 0xA1, 0xA2,
                0xA8, 0xA9, 0xAA}) {
            MAP_0F_NO_MODRM.set(op);
        }
        MAP_0F_NO_MODRM.set(0x30, 0x38);
        MAP_0F_NO_MODRM.set(0x80, 0x90);
        MAP_0F_NO_MODRM.set(0xC8, 0xD0);
    }

    /** The memory operand of the single instruction in {@code code}, if it has one. */
    static Optional<MemoryOperand> of(byte[] code) {
        int p = 0;
        int rex = 0;
        boolean addr32 = false;
        boolean locked = false;
        while (p < code.length) {
            int b = code[p] & 0xFF;
            if ((b & 0xF0) == 0x40) {
                rex = b;
                p++;
                continue;
            }
            boolean prefix = switch (b) {
                case 0x66, 0xF2, 0xF3, 0x2E, 0x3E, 0x26, 0x36, 0x64, 0x65 -> true;
                case 0x67 -> addr32 = true;
                case 0xF0 -> locked = true;
                default -> false;
            };
            if (!prefix) {
                break;
            }
            rex = 0; // REX counts only right before the opcode
            p++;
        }
        if (p >= code.length) {
            return Optional.empty();
        }
        int opcode = code[p++] & 0xFF;
        boolean hasModrm;
        if (opcode == 0x0F) {
            int second = code[p++] & 0xFF;
            if (second == 0x38 || second == 0x3A) {
                p++;
                hasModrm = true;
            } else {
                hasModrm = !MAP_0F_NO_MODRM.get(second);
            }
        } else {
            hasModrm = ONE_BYTE_MODRM.get(opcode);
        }
        if (!hasModrm || p >= code.length) {
            return Optional.empty();
        }
        int modrm = code[p++] & 0xFF;
        int mod = modrm >>> 6;
        int rm = modrm & 7;
        if (mod == 3) {
            return Optional.empty();
        }
        int base = -1;
        int index = -1;
        int scale = 0;
        long disp = 0;
        boolean ripRelative = false;
        if (rm == 4) {
            int sib = code[p++] & 0xFF;
            scale = sib >>> 6;
            int idx = ((sib >>> 3) & 7) | ((rex & 2) << 2);
            index = idx == 4 ? -1 : idx;
            if ((sib & 7) == 5 && mod == 0) {
                disp = int32(code, p);
                p += 4;
            } else {
                base = (sib & 7) | ((rex & 1) << 3);
            }
        } else if (rm == 5 && mod == 0) {
            ripRelative = true;
            disp = int32(code, p);
            p += 4;
        } else {
            base = rm | ((rex & 1) << 3);
        }
        if (mod == 1) {
            disp = code[p];
        } else if (mod == 2) {
            disp = int32(code, p);
        }
        return Optional.of(new MemoryOperand(base, index, scale, disp, ripRelative, addr32, locked));
    }

    private static long int32(byte[] code, int p) {
        return (code[p] & 0xFF) | (code[p + 1] & 0xFF) << 8 | (code[p + 2] & 0xFF) << 16 | (long) code[p + 3] << 24;
    }

    /** The linear address for registers {@code gpr}, with the instruction ending at {@code insnEnd}. */
    long address(long[] gpr, long insnEnd) {
        long a = disp;
        if (ripRelative) {
            a += insnEnd;
        }
        if (base >= 0) {
            a += gpr[base];
        }
        if (index >= 0) {
            a += gpr[index] << scale;
        }
        return addr32 ? a & 0xFFFFFFFFL : a;
    }
}
