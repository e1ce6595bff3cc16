package dev.hako.soft.decode;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.fault.CpuFault;

/**
 * The one x86-64 decoder: prefixes, REX, the four opcode maps, ModRM/SIB, RIP-relative addressing,
 * displacements and immediates. Instruction bytes come through the MMU's fetch path, so a fetch may fault.
 * An encoding with no table entry decodes to an instruction that raises #UD when run.
 */
public final class Decoder {
    private static final int MAX_LENGTH = 15;
    private final OpcodeTable table;
    private final OpSpec undefined;
    private final FetchCursor cursor = new FetchCursor();

    public Decoder(OpcodeTable table, dev.hako.soft.exec.Exec undefinedHandler) {
        this.table = table;
        this.undefined = new OpSpec("(bad)", 0, OpSpec.IMM_NONE, 0, undefinedHandler);
    }

    /**
     * Decodes the instruction at offset {@code addr} of the code segment into {@code out}, in the CPU's
     * current mode (64-bit, or legacy 32/16-bit where REX does not exist, sizes default from CS.D, memory
     * operands take segment bases and 16-bit addressing uses the BX/BP/SI/DI forms).
     */
    public void decode(Cpu cpu, long addr, Insn out) {
        int mode = cpu.mode;
        long csBase = mode == Cpu.MODE_64 ? 0 : cpu.sys.base[dev.hako.soft.exec.SystemState.CS];
        cursor.bind(cpu.mem, csBase, offsetMask(mode));
        decode(mode, addr, out, cpu);
    }

    /**
     * Decodes the instruction at {@code addr} of {@code code} in {@code mode} (Cpu.MODE_16, MODE_32, MODE_64)
     * without a CPU, for disassembly. Throws {@link UndecodableCode} when a byte cannot be read or the
     * instruction is longer than 15 bytes.
     */
    public void decode(CodeBytes code, int mode, long addr, Insn out) {
        cursor.bind(code, offsetMask(mode));
        decode(mode, addr, out, null);
    }

    private static long offsetMask(int mode) {
        return mode == Cpu.MODE_64 ? -1L : mode == Cpu.MODE_32 ? 0xFFFFFFFFL : 0xFFFFL;
    }

    /** A longer instruction is #GP on a CPU, and not an instruction at all to a disassembler. */
    private static RuntimeException tooLong(Cpu cpu) {
        return cpu == null ? UndecodableCode.INSTANCE : cpu.fault(CpuFault.GP, 0);
    }

    private void decode(int mode, long addr, Insn out, Cpu cpu) {
        boolean long64 = mode == Cpu.MODE_64;
        FetchCursor f = cursor;
        long p = addr;
        boolean opsize = false, addrsize = false, lock = false;
        int repPrefix = 0, segment = Cpu.SEG_NONE, rex = 0;
        int b;
        while (true) {
            b = f.byte8(p++);
            if (p - addr > MAX_LENGTH) {
                throw tooLong(cpu);
            }
            if ((b & 0xF0) == 0x40 && long64) {
                rex = b;
                continue;
            }
            switch (b) {
                case 0x66 -> opsize = true;
                case 0x67 -> addrsize = true;
                case 0xF0 -> lock = true;
                case 0xF2, 0xF3 -> repPrefix = b;
                case 0x64 -> segment = Cpu.SEG_FS;
                case 0x65 -> segment = Cpu.SEG_GS;
                case 0x26 -> segment = long64 ? segment : Cpu.SEG_ES; // null segments in 64-bit mode
                case 0x2E -> segment = long64 ? segment : Cpu.SEG_CS;
                case 0x36 -> segment = long64 ? segment : Cpu.SEG_SS;
                case 0x3E -> segment = long64 ? segment : Cpu.SEG_DS;
                default -> {
                    break;
                }
            }
            if (!isLegacyPrefix(b)) {
                break;
            }
            rex = 0; // a REX not directly before the opcode is ignored
        }
        int map = OpcodeTable.ONE_BYTE;
        int opcode = b;
        if (b == 0x0F) {
            opcode = f.byte8(p++);
            map = OpcodeTable.MAP_0F;
            if (opcode == 0x38) {
                map = OpcodeTable.MAP_0F38;
                opcode = f.byte8(p++);
            } else if (opcode == 0x3A) {
                map = OpcodeTable.MAP_0F3A;
                opcode = f.byte8(p++);
            }
        }
        OpSpec spec = table.maps[map][opcode];
        if (!long64 && table.legacy[map][opcode] != null) {
            spec = table.legacy[map][opcode];
        }
        boolean hasModrm = spec != null && spec.has(OpSpec.MODRM);
        int modrm = hasModrm ? f.byte8(p++) : 0;
        int mod = modrm >>> 6;
        int modReg = (modrm >>> 3) & 7;

        // Resolve composite entries.
        boolean mandatoryUsed = false;
        boolean mandatory66 = false;
        int prefixColumn = OpcodeTable.NP;
        while (spec != null && spec.isComposite()) {
            if (spec.byPrefix != null) {
                int column = repPrefix == 0xF2 ? OpcodeTable.PF2 : repPrefix == 0xF3 ? OpcodeTable.PF3
                        : opsize ? OpcodeTable.P66 : OpcodeTable.NP;
                OpSpec chosen = spec.byPrefix[column];
                prefixColumn = column;
                if (column != OpcodeTable.NP) {
                    mandatoryUsed = column != OpcodeTable.P66;
                    mandatory66 = column == OpcodeTable.P66;
                }
                spec = chosen;
            } else if (spec.byReg != null) {
                spec = spec.byReg[modReg];
            } else if (spec.byRm != null) {
                spec = spec.byRm[modrm & 7];
            } else {
                spec = mod == 3 ? spec.regForm : spec.memForm;
            }
        }
        if (spec == null || (mod == 3 && spec.has(OpSpec.MEM_ONLY)) || (mod != 3 && spec.has(OpSpec.REG_ONLY))) {
            spec = undefined;
        }
        int flags = spec.flags;

        out.spec = spec;
        out.exec = spec.exec;
        out.addr = addr;
        out.sub = spec.sub;
        out.opcode = opcode;
        out.map = map;
        out.modrm = modrm;
        out.lock = lock;
        out.rep = mandatoryUsed ? 0 : repPrefix;
        out.mandatoryPrefix = prefixColumn;
        out.rexW = (rex & 8) != 0;
        out.hasRex = rex != 0;
        boolean sizePrefix = opsize && (!mandatory66 || (flags & OpSpec.KEEP_66) != 0);
        if (long64) {
            out.addrSize = addrsize ? 4 : 8;
            if ((flags & OpSpec.BYTE) != 0) {
                out.opSize = 1;
            } else if ((flags & OpSpec.F64) != 0 || (rex & 8) != 0) {
                out.opSize = 8;
            } else if (sizePrefix) {
                out.opSize = 2;
            } else {
                out.opSize = (flags & OpSpec.D64) != 0 ? 8 : 4;
            }
        } else {
            boolean default32 = mode == Cpu.MODE_32;
            out.addrSize = default32 != addrsize ? 4 : 2;
            out.opSize = (flags & OpSpec.BYTE) != 0 ? 1 : default32 != sizePrefix ? 4 : 2;
        }
        out.base = -1;
        out.index = -1;
        out.scale = 0;
        out.disp = 0;
        out.rmIsReg = false;
        out.rm = 0;
        out.imm = 0;
        out.imm2 = 0;

        boolean ripRelative = false;
        if (hasModrm) {
            int reg = modReg | ((rex & 4) << 1);
            if ((flags & OpSpec.BYTE) != 0 && rex == 0 && reg >= 4 && reg < 8) {
                reg += 12; // AH, CH, DH, BH
            }
            out.reg = reg;
            int rm = modrm & 7;
            if (mod == 3) {
                out.rmIsReg = true;
                int r = rm | ((rex & 1) << 3);
                if ((flags & (OpSpec.BYTE | OpSpec.BYTE_RM)) != 0 && rex == 0 && r >= 4 && r < 8) {
                    r += 12;
                }
                out.rm = r;
            } else if (out.addrSize == 2) {
                p = modrm16(f, p, mod, rm, out);
            } else {
                if (rm == 4) {
                    int sib = f.byte8(p++);
                    int idx = ((sib >>> 3) & 7) | ((rex & 2) << 2);
                    int base = (sib & 7) | ((rex & 1) << 3);
                    out.scale = sib >>> 6;
                    out.index = idx == 4 ? -1 : idx;
                    if ((sib & 7) == 5 && mod == 0) {
                        out.base = -1;
                        out.disp = f.int32(p);
                        p += 4;
                    } else {
                        out.base = base;
                    }
                } else if (rm == 5 && mod == 0) {
                    ripRelative = long64;
                    out.disp = long64 ? f.int32(p) : f.int32(p) & 0xFFFFFFFFL;
                    p += 4;
                } else {
                    out.base = rm | ((rex & 1) << 3);
                }
                if (mod == 1) {
                    out.disp = (byte) f.byte8(p++);
                } else if (mod == 2) {
                    out.disp = f.int32(p);
                    p += 4;
                }
            }
            if (!long64 && segment == Cpu.SEG_NONE) {
                segment = out.base == Cpu.RBP || out.base == Cpu.RSP ? Cpu.SEG_SS : Cpu.SEG_DS;
            }
        } else if ((flags & OpSpec.OPREG) != 0) {
            int reg = (opcode & 7) | ((rex & 1) << 3);
            if ((flags & OpSpec.BYTE) != 0 && rex == 0 && reg >= 4 && reg < 8) {
                reg += 12;
            }
            out.reg = reg;
            out.rm = reg; // so r/m handlers (INC/DEC r outside 64-bit mode) serve register-in-opcode forms
            out.rmIsReg = true;
        }

        if (!hasModrm && !long64 && segment == Cpu.SEG_NONE) {
            segment = Cpu.SEG_DS; // string sources and moffs default to DS
        }
        out.segment = segment;
        switch (spec.immediate) {
            case OpSpec.IB, OpSpec.JB -> out.imm = (byte) f.byte8(p++);
            case OpSpec.IB_UNSIGNED -> out.imm = f.byte8(p++);
            case OpSpec.IW -> {
                out.imm = f.int16(p);
                p += 2;
            }
            case OpSpec.IZ, OpSpec.JZ -> {
                if (out.opSize == 2) {
                    out.imm = (short) f.int16(p);
                    p += 2;
                } else {
                    out.imm = f.int32(p);
                    p += 4;
                }
            }
            case OpSpec.IV -> {
                if (out.opSize == 8) {
                    out.imm = f.int32(p) & 0xFFFFFFFFL | ((long) f.int32(p + 4) << 32);
                    p += 8;
                } else if (out.opSize == 2) {
                    out.imm = f.int16(p);
                    p += 2;
                } else {
                    out.imm = f.int32(p) & 0xFFFFFFFFL;
                    p += 4;
                }
            }
            case OpSpec.IW_IB -> {
                out.imm = f.int16(p);
                out.imm2 = f.byte8(p + 2);
                p += 3;
            }
            case OpSpec.MOFFS -> {
                if (out.addrSize == 2) {
                    out.disp = f.int16(p);
                    p += 2;
                } else if (out.addrSize == 4) {
                    out.disp = f.int32(p) & 0xFFFFFFFFL;
                    p += 4;
                } else {
                    out.disp = f.int32(p) & 0xFFFFFFFFL | ((long) f.int32(p + 4) << 32);
                    p += 8;
                }
            }
            case OpSpec.FAR_POINTER -> {
                // ptr16:16 or ptr16:32: offset in imm, selector in imm2
                if (out.opSize == 2) {
                    out.imm = f.int16(p);
                    p += 2;
                } else {
                    out.imm = f.int32(p) & 0xFFFFFFFFL;
                    p += 4;
                }
                out.imm2 = f.int16(p);
                p += 2;
            }
            default -> { }
        }
        int length = (int) (p - addr);
        if (length > MAX_LENGTH) {
            throw tooLong(cpu);
        }
        out.length = length;
        out.next = p;
        out.ripRelative = ripRelative;
        if (ripRelative) {
            out.disp += p;
        }
        if (spec.immediate == OpSpec.JB || spec.immediate == OpSpec.JZ) {
            out.imm += p;
            if (!long64) {
                out.imm &= out.opSize == 2 ? 0xFFFF : 0xFFFFFFFFL; // EIP/IP wrap
            }
            if ((out.imm << 16 >> 16) != out.imm) {
                out.exec = dev.hako.soft.exec.Branches.TO_NON_CANONICAL;
            }
        }
        if (lock && ((flags & OpSpec.LOCKABLE) == 0 || out.rmIsReg)) {
            out.spec = undefined;
            out.exec = undefined.exec;
        }
    }

    private static boolean isLegacyPrefix(int b) {
        return switch (b) {
            case 0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x64, 0x65, 0x26, 0x2E, 0x36, 0x3E -> true;
            default -> false;
        };
    }

    /** 16-bit ModRM addressing: [BX+SI] [BX+DI] [BP+SI] [BP+DI] [SI] [DI] [BP]/disp16 [BX]. */
    private static final int[] BASE16 = {Cpu.RBX, Cpu.RBX, Cpu.RBP, Cpu.RBP, Cpu.RSI, Cpu.RDI, Cpu.RBP, Cpu.RBX};
    private static final int[] INDEX16 = {Cpu.RSI, Cpu.RDI, Cpu.RSI, Cpu.RDI, -1, -1, -1, -1};

    private static long modrm16(FetchCursor f, long p, int mod, int rm, Insn out) {
        out.base = BASE16[rm];
        out.index = INDEX16[rm];
        if (mod == 0 && rm == 6) {
            out.base = -1;
            out.disp = f.int16(p);
            return p + 2;
        }
        if (mod == 1) {
            out.disp = (byte) f.byte8(p);
            return p + 1;
        }
        if (mod == 2) {
            out.disp = (short) f.int16(p);
            return p + 2;
        }
        return p;
    }
}
