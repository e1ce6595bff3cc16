package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpSpec.MEM_ONLY;
import static dev.hako.soft.decode.OpSpec.MODRM;
import static dev.hako.soft.decode.OpSpec.REG_ONLY;
import static dev.hako.soft.decode.OpcodeTable.ANY;
import static dev.hako.soft.decode.OpcodeTable.ONE_BYTE;
import static dev.hako.soft.exec.X87Operands.M16_INT;
import static dev.hako.soft.exec.X87Operands.M32_INT;
import static dev.hako.soft.exec.X87Operands.M32_REAL;
import static dev.hako.soft.exec.X87Operands.M64_INT;
import static dev.hako.soft.exec.X87Operands.M64_REAL;
import static dev.hako.soft.exec.X87Operands.M80_REAL;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;
import dev.hako.soft.fpu.Conversion;
import dev.hako.soft.fpu.Extended80;

/**
 * x87 data transfer (SDM vol. 1 8.3.3-8.3.4): FLD FST FSTP in all formats, FILD FIST FISTP FISTTP, FBLD FBSTP,
 * FXCH, the constant loads (FLD1 FLDL2T FLDL2E FLDPI FLDLG2 FLDLN2 FLDZ), FFREE(P), FINCSTP, FDECSTP, FNOP.
 */
final class X87LoadStore {
    /** Memory rows: opcode, ModRM.reg, format, and what the row does. */
    private static final int LOAD = 0, STORE = 1, STORE_POP = 2, TRUNCATE_POP = 3;
    private static final int[][] MEMORY_ROWS = {
        {0xD9, 0, M32_REAL, LOAD}, {0xD9, 2, M32_REAL, STORE}, {0xD9, 3, M32_REAL, STORE_POP},
        {0xDD, 0, M64_REAL, LOAD}, {0xDD, 2, M64_REAL, STORE}, {0xDD, 3, M64_REAL, STORE_POP},
        {0xDB, 5, M80_REAL, LOAD}, {0xDB, 7, M80_REAL, STORE_POP},
        {0xDF, 0, M16_INT, LOAD}, {0xDF, 2, M16_INT, STORE}, {0xDF, 3, M16_INT, STORE_POP},
        {0xDB, 0, M32_INT, LOAD}, {0xDB, 2, M32_INT, STORE}, {0xDB, 3, M32_INT, STORE_POP},
        {0xDF, 5, M64_INT, LOAD}, {0xDF, 7, M64_INT, STORE_POP},
        {0xDF, 1, M16_INT, TRUNCATE_POP}, {0xDB, 1, M32_INT, TRUNCATE_POP}, {0xDD, 1, M64_INT, TRUNCATE_POP},
    };
    private static final String[][] MNEMONICS = {
        {"fld", "fst", "fstp", "fisttp"}, {"fild", "fist", "fistp", "fisttp"}};

    /** Constants as hardware rounds them: the value rounded down, and whether nearest rounds it up. */
    private static final int[] CONSTANT_SE = {0x3FFF, 0x4000, 0x3FFF, 0x4000, 0x3FFD, 0x3FFE, 0};
    private static final long[] CONSTANT_DOWN = {Extended80.INTEGER_BIT, 0xD49A784BCD1B8AFEL,
        0xB8AA3B295C17F0BBL, 0xC90FDAA22168C234L, 0x9A209A84FBCFF798L, 0xB17217F7D1CF79ABL, 0};
    private static final boolean[] CONSTANT_NEAREST_UP = {false, false, true, true, true, true, false};
    private static final String[] CONSTANT_NAMES = {"fld1", "fldl2t", "fldl2e", "fldpi", "fldlg2", "fldln2", "fldz"};

    private X87LoadStore() {}

    static void register(OpcodeTable t) {
        for (int[] row : MEMORY_ROWS) {
            boolean integer = row[2] == M16_INT || row[2] == M32_INT || row[2] == M64_INT;
            String name = MNEMONICS[integer ? 1 : 0][row[3]];
            Exec exec = row[3] == LOAD ? X87LoadStore::loadMemory : X87LoadStore::storeMemory;
            t.addForm(ONE_BYTE, row[0], ANY, row[1], name, MODRM | MEM_ONLY, IMM_NONE, row[2] | (row[3] << 3), exec);
        }
        t.addForm(ONE_BYTE, 0xDF, ANY, 4, "fbld", MODRM | MEM_ONLY, IMM_NONE, 0, X87LoadStore::loadBcd);
        t.addForm(ONE_BYTE, 0xDF, ANY, 6, "fbstp", MODRM | MEM_ONLY, IMM_NONE, 0, X87LoadStore::storeBcd);
        t.addForm(ONE_BYTE, 0xD9, ANY, 0, "fld", MODRM | REG_ONLY, IMM_NONE, 0, X87LoadStore::loadRegister);
        t.addForm(ONE_BYTE, 0xD9, ANY, 1, "fxch", MODRM | REG_ONLY, IMM_NONE, 0, X87LoadStore::exchange);
        t.addRm(ONE_BYTE, 0xD9, 2, 0, "fnop", 0, X87LoadStore::noOperation);
        t.addForm(ONE_BYTE, 0xD9, ANY, 3, "fstp", MODRM | REG_ONLY, IMM_NONE, 1, X87LoadStore::storeRegister);
        for (int n = 0; n < CONSTANT_NAMES.length; n++) {
            final int index = n;
            t.addRm(ONE_BYTE, 0xD9, 5, n, CONSTANT_NAMES[n], 0, (c, i) -> loadConstant(c, i, index));
        }
        t.addRm(ONE_BYTE, 0xD9, 6, 6, "fdecstp", 0, X87LoadStore::decrementTop);
        t.addRm(ONE_BYTE, 0xD9, 6, 7, "fincstp", 0, X87LoadStore::incrementTop);
        t.addForm(ONE_BYTE, 0xDD, ANY, 0, "ffree", MODRM | REG_ONLY, IMM_NONE, 0, X87LoadStore::free);
        t.addForm(ONE_BYTE, 0xDD, ANY, 1, "fxch", MODRM | REG_ONLY, IMM_NONE, 0, X87LoadStore::exchange);
        t.addForm(ONE_BYTE, 0xDD, ANY, 2, "fst", MODRM | REG_ONLY, IMM_NONE, 0, X87LoadStore::storeRegister);
        t.addForm(ONE_BYTE, 0xDD, ANY, 3, "fstp", MODRM | REG_ONLY, IMM_NONE, 1, X87LoadStore::storeRegister);
        t.addForm(ONE_BYTE, 0xDF, ANY, 0, "ffreep", MODRM | REG_ONLY, IMM_NONE, 1, X87LoadStore::free);
        t.addForm(ONE_BYTE, 0xDF, ANY, 1, "fxch", MODRM | REG_ONLY, IMM_NONE, 0, X87LoadStore::exchange);
        t.addForm(ONE_BYTE, 0xDF, ANY, 2, "fstp", MODRM | REG_ONLY, IMM_NONE, 1, X87LoadStore::storeRegister);
        t.addForm(ONE_BYTE, 0xDF, ANY, 3, "fstp", MODRM | REG_ONLY, IMM_NONE, 1, X87LoadStore::storeRegister);
    }

    static void loadMemory(Cpu c, Insn i) {
        X87 x = c.fpu;
        Extended80 f = X87Operands.begin(c, i);
        X87Operands.load(c, i, f, i.sub & 7);
        if (!x.isEmpty(7)) {
            f.flags &= ~X87.DE; // stack overflow has priority
        }
        if ((f.flags & ~x.fcw & (X87.IE | X87.DE)) != 0) {
            X87Operands.finish(x, f); // unmasked: nothing is pushed
            return;
        }
        X87Operands.push(x, f);
        X87Operands.finish(x, f);
    }

    static void loadRegister(Cpu c, Insn i) {
        X87 x = c.fpu;
        Extended80 f = X87Operands.begin(c, i);
        int other = i.rm & 7;
        if (x.isEmpty(other)) {
            X87Operands.underflow(f);
            if ((x.fcw & X87.IE) == 0) {
                X87Operands.finish(x, f);
                return;
            }
        } else {
            f.se = x.se(other);
            f.sig = x.sig(other);
        }
        X87Operands.push(x, f);
        X87Operands.finish(x, f);
    }

    static void storeMemory(Cpu c, Insn i) {
        X87 x = c.fpu;
        Extended80 f = X87Operands.begin(c, i);
        int format = i.sub & 7;
        int kind = i.sub >>> 3;
        boolean empty = x.isEmpty(0);
        int se = x.se(0);
        long sig = x.sig(0);
        if (empty) {
            X87Operands.underflow(f);
            se = f.se;
            sig = f.sig;
        }
        long ea = c.ea(i);
        long bits = 0;
        if (format != M80_REAL) {
            if (kind == TRUNCATE_POP) {
                f.rounding = Extended80.RC_ZERO;
            }
            bits = switch (format) {
                case M32_REAL -> Conversion.toFloat(f, se, sig);
                case M64_REAL -> Conversion.toDouble(f, se, sig);
                case M16_INT -> Conversion.toInteger(f, se, sig, 16, kind == TRUNCATE_POP);
                case M32_INT -> Conversion.toInteger(f, se, sig, 32, kind == TRUNCATE_POP);
                default -> Conversion.toInteger(f, se, sig, 64, kind == TRUNCATE_POP);
            };
        }
        int unmasked = f.flags & ~x.fcw & X87.EXCEPTIONS;
        if ((unmasked & (X87.IE | X87.DE | X87.OE | X87.UE)) != 0) {
            X87Operands.finish(x, f); // unmasked: memory and stack stay as they were
            return;
        }
        switch (format) {
            case M32_REAL, M32_INT -> c.mem.write32(ea, bits);
            case M64_REAL, M64_INT -> c.mem.write64(ea, bits);
            case M16_INT -> c.mem.write16(ea, (int) bits);
            default -> X87Operands.write80(c, ea, se, sig);
        }
        X87Operands.finish(x, f);
        if (kind != STORE) {
            x.pop();
        }
    }

    /** FST/FSTP ST(i) (sub 1: pop). */
    static void storeRegister(Cpu c, Insn i) {
        X87 x = c.fpu;
        Extended80 f = X87Operands.begin(c, i);
        int other = i.rm & 7;
        if (x.isEmpty(0)) {
            X87Operands.underflow(f);
        } else {
            f.se = x.se(0);
            f.sig = x.sig(0);
        }
        if (X87Operands.finish(x, f)) {
            x.set(other, f.se, f.sig);
            if (i.sub != 0) {
                x.pop();
            }
        }
    }

    static void exchange(Cpu c, Insn i) {
        X87 x = c.fpu;
        Extended80 f = X87Operands.begin(c, i);
        int other = i.rm & 7;
        if (x.isEmpty(0) || x.isEmpty(other)) {
            X87Operands.underflow(f);
            if (!X87Operands.finish(x, f)) {
                return;
            }
            if (x.isEmpty(0)) {
                x.set(0, Extended80.INDEFINITE_SE, Extended80.INDEFINITE_SIG);
            }
            if (x.isEmpty(other)) {
                x.set(other, Extended80.INDEFINITE_SE, Extended80.INDEFINITE_SIG);
            }
        } else {
            X87Operands.finish(x, f);
        }
        int se = x.se(0);
        long sig = x.sig(0);
        x.set(0, x.se(other), x.sig(other));
        x.set(other, se, sig);
    }

    static void loadConstant(Cpu c, Insn i, int index) {
        X87 x = c.fpu;
        Extended80 f = X87Operands.begin(c, i);
        boolean up = switch (f.rounding) {
            case Extended80.RC_NEAREST -> CONSTANT_NEAREST_UP[index];
            case Extended80.RC_UP -> index >= 1 && index <= 5;
            default -> false;
        };
        f.se = CONSTANT_SE[index];
        f.sig = CONSTANT_DOWN[index] + (up ? 1 : 0);
        X87Operands.push(x, f);
        X87Operands.finish(x, f);
    }

    static void noOperation(Cpu c, Insn i) {
        X87Operands.finish(c.fpu, X87Operands.begin(c, i));
    }

    static void decrementTop(Cpu c, Insn i) {
        X87Operands.finish(c.fpu, X87Operands.begin(c, i));
        c.fpu.top = (c.fpu.top - 1) & 7;
    }

    static void incrementTop(Cpu c, Insn i) {
        X87Operands.finish(c.fpu, X87Operands.begin(c, i));
        c.fpu.top = (c.fpu.top + 1) & 7;
    }

    /** FFREE ST(i); FFREEP (sub 1) also pops. */
    static void free(Cpu c, Insn i) {
        X87 x = c.fpu;
        X87Operands.begin(c, i);
        x.tags &= ~(1 << x.physical(i.rm & 7));
        if (i.sub != 0) {
            x.pop();
        }
    }

    static void loadBcd(Cpu c, Insn i) {
        X87 x = c.fpu;
        Extended80 f = X87Operands.begin(c, i);
        long ea = c.ea(i);
        long value = 0;
        for (int n = 8; n >= 0; n--) {
            int digits = c.mem.read8(ea + n);
            value = value * 100 + (digits >>> 4) * 10 + (digits & 15);
        }
        boolean neg = (c.mem.read8(ea + 9) & 0x80) != 0;
        Conversion.fromInteger(f, value);
        if (neg) {
            f.se |= 0x8000;
        }
        X87Operands.push(x, f);
        X87Operands.finish(x, f);
    }

    static void storeBcd(Cpu c, Insn i) {
        X87 x = c.fpu;
        Extended80 f = X87Operands.begin(c, i);
        long ea = c.ea(i);
        long value;
        boolean neg = (x.se(0) & 0x8000) != 0;
        if (x.isEmpty(0)) {
            X87Operands.underflow(f);
            value = Long.MIN_VALUE;
        } else {
            value = Conversion.toInteger(f, x.se(0), x.sig(0), 64, false);
            if (value != Long.MIN_VALUE && Math.abs(value) > 999_999_999_999_999_999L) {
                f.flags = (f.flags & ~(X87.PE | X87.C1)) | X87.IE;
                value = Long.MIN_VALUE;
            }
        }
        if (!X87Operands.finish(x, f)) {
            return;
        }
        if (value == Long.MIN_VALUE) { // the packed BCD indefinite
            c.mem.write64(ea, 0xC000000000000000L);
            c.mem.write16(ea + 8, 0xFFFF);
        } else {
            long magnitude = Math.abs(value);
            long low = 0;
            for (int n = 0; n < 16; n++) {
                low |= (magnitude % 10) << (4 * n);
                magnitude /= 10;
            }
            c.mem.write64(ea, low);
            c.mem.write16(ea + 8, (int) ((magnitude % 10) | (magnitude / 10) << 4) | (neg ? 0x8000 : 0));
        }
        x.pop();
    }
}
