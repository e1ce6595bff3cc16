package dev.hako.soft.decode;

import dev.hako.soft.exec.Exec;

/**
 * The four opcode maps of 64-bit mode (one-byte, 0F, 0F38, 0F3A), filled by the instruction groups. An
 * empty slot decodes to #UD. Registering the same slot twice is a programming error and fails at once.
 */
public final class OpcodeTable {
    public static final int ONE_BYTE = 0, MAP_0F = 1, MAP_0F38 = 2, MAP_0F3A = 3;
    /** Mandatory-prefix columns. */
    public static final int NP = 0, P66 = 1, PF3 = 2, PF2 = 3;
    /** For {@link #add} without a mandatory prefix or group. */
    public static final int ANY = -1;

    final OpSpec[][] maps = new OpSpec[4][256];
    /** Entries that differ outside 64-bit mode (INC/DEC r, PUSHA, far pointers, ...), consulted first there. */
    final OpSpec[][] legacy = new OpSpec[4][256];

    /** Adds an entry that replaces the 64-bit one in 16- and 32-bit modes. */
    public OpcodeTable legacyOp(int map, int opcode, String mnemonic, int flags, int imm, int sub, Exec exec) {
        require(legacy[map][opcode] == null, map, opcode, mnemonic);
        legacy[map][opcode] = new OpSpec(mnemonic, flags, imm, sub, exec);
        return this;
    }

    /** Outside 64-bit mode, {@code opcode} decodes as {@code original} does (0x82 as 0x80). */
    public OpcodeTable legacyAlias(int map, int opcode, int original) {
        require(legacy[map][opcode] == null && maps[map][original] != null, map, opcode, "alias");
        legacy[map][opcode] = maps[map][original];
        return this;
    }

    /** Adds a plain instruction: the entry for {@code map}/{@code opcode}. */
    public OpcodeTable op(int map, int opcode, String mnemonic, int flags, int imm, int sub, Exec exec) {
        return add(map, opcode, ANY, ANY, mnemonic, flags, imm, sub, exec);
    }

    /**
     * Adds an entry, selected further by mandatory {@code prefix} (NP, P66, PF3, PF2 or ANY) and by ModRM
     * {@code reg} (0..7 or ANY). Entries sharing an opcode must agree on having a ModRM byte.
     */
    public OpcodeTable add(int map, int opcode, int prefix, int reg, String mnemonic, int flags, int imm, int sub,
            Exec exec) {
        OpSpec leaf = new OpSpec(mnemonic, flags, imm, sub, exec);
        OpSpec top = maps[map][opcode];
        if (prefix == ANY && reg == ANY) {
            require(top == null, map, opcode, mnemonic);
            maps[map][opcode] = leaf;
            return this;
        }
        if (top == null) {
            top = OpSpec.composite(flags & OpSpec.MODRM);
            maps[map][opcode] = top;
        }
        require(top.isComposite(), map, opcode, mnemonic);
        requireSameKeying(top, prefix, map, opcode, mnemonic);
        OpSpec node = top;
        if (prefix != ANY) {
            if (node.byPrefix == null) {
                node.byPrefix = new OpSpec[4];
            }
            if (reg == ANY) {
                require(node.byPrefix[prefix] == null, map, opcode, mnemonic);
                node.byPrefix[prefix] = leaf;
                return this;
            }
            if (node.byPrefix[prefix] == null) {
                node.byPrefix[prefix] = OpSpec.composite(flags & OpSpec.MODRM);
            }
            node = node.byPrefix[prefix];
        }
        if (node.byReg == null) {
            node.byReg = new OpSpec[8];
        }
        require(node.byReg[reg] == null || node.byReg[reg].isComposite() && leaf.has(OpSpec.MEM_ONLY | OpSpec.REG_ONLY),
                map, opcode, mnemonic);
        OpSpec existing = node.byReg[reg];
        if (existing == null) {
            node.byReg[reg] = leaf;
        } else if (leaf.has(OpSpec.MEM_ONLY)) {
            existing.memForm = leaf;
        } else {
            existing.regForm = leaf;
        }
        return this;
    }

    /**
     * Adds an instruction that shares its opcode and ModRM.reg with another one, told apart by register
     * versus memory form: {@code MEM_ONLY} or {@code REG_ONLY} in {@code flags} says which this is.
     */
    public OpcodeTable addForm(int map, int opcode, int prefix, int reg, String mnemonic, int flags, int imm, int sub,
            Exec exec) {
        OpSpec leaf = new OpSpec(mnemonic, flags, imm, sub, exec);
        OpSpec top = maps[map][opcode];
        if (top == null) {
            top = OpSpec.composite(OpSpec.MODRM);
            maps[map][opcode] = top;
        }
        requireSameKeying(top, prefix, map, opcode, mnemonic);
        OpSpec node = top;
        if (prefix != ANY) {
            if (node.byPrefix == null) {
                node.byPrefix = new OpSpec[4];
            }
            if (node.byPrefix[prefix] == null) {
                node.byPrefix[prefix] = OpSpec.composite(OpSpec.MODRM);
            }
            node = node.byPrefix[prefix];
        }
        if (reg != ANY) {
            if (node.byReg == null) {
                node.byReg = new OpSpec[8];
            }
            if (node.byReg[reg] == null) {
                node.byReg[reg] = OpSpec.composite(OpSpec.MODRM);
            }
            node = node.byReg[reg];
        }
        require(node.isComposite(), map, opcode, mnemonic);
        if (leaf.has(OpSpec.MEM_ONLY)) {
            require(node.memForm == null, map, opcode, mnemonic);
            node.memForm = leaf;
        } else {
            require(node.regForm == null, map, opcode, mnemonic);
            node.regForm = leaf;
        }
        return this;
    }

    /** Adds a register-form instruction selected by ModRM.rm (0F 01 F8 swapgs and the like). */
    public OpcodeTable addRm(int map, int opcode, int reg, int rm, String mnemonic, int flags, Exec exec) {
        OpSpec top = maps[map][opcode];
        if (top == null) {
            top = OpSpec.composite(OpSpec.MODRM);
            maps[map][opcode] = top;
        }
        if (top.byReg == null) {
            top.byReg = new OpSpec[8];
        }
        OpSpec node = top.byReg[reg];
        if (node == null) {
            node = OpSpec.composite(OpSpec.MODRM);
            top.byReg[reg] = node;
        }
        if (node.regForm == null) {
            node.regForm = OpSpec.composite(OpSpec.MODRM);
        }
        if (node.regForm.byRm == null) {
            node.regForm.byRm = new OpSpec[8];
        }
        require(node.regForm.byRm[rm] == null, map, opcode, mnemonic);
        node.regForm.byRm[rm] = new OpSpec(mnemonic, flags | OpSpec.MODRM, OpSpec.IMM_NONE, 0, exec);
        return this;
    }

    /**
     * A slot is selected either by mandatory prefix first or by ModRM.reg first, never both: an entry
     * registered the other way would never be reached.
     */
    private static void requireSameKeying(OpSpec node, int prefix, int map, int opcode, String mnemonic) {
        boolean byPrefix = prefix != ANY;
        require(byPrefix ? node.byReg == null && node.memForm == null && node.regForm == null
                : node.byPrefix == null, map, opcode, mnemonic + " (mixes prefix- and ModRM-keyed entries)");
    }

    public OpSpec entry(int map, int opcode) {
        return maps[map][opcode];
    }

    private static void require(boolean ok, int map, int opcode, String mnemonic) {
        if (!ok) {
            throw new IllegalStateException(String.format("opcode map %d slot %02x: %s clashes with an entry",
                    map, opcode, mnemonic));
        }
    }
}
