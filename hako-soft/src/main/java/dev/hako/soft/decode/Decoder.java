package dev.hako.soft.decode;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.Mmu;

/**
 * The one x86-64 decoder: prefixes, REX, the four opcode maps, ModRM/SIB, RIP-relative addressing,
 * displacements and immediates. Instruction bytes come through the MMU's fetch path, so a fetch may fault.
 * An encoding with no table entry decodes to an instruction that raises #UD when run.
 */
public final class Decoder {
    private static final int MAX_LENGTH = 15;
    private final OpcodeTable table;
    private final OpSpec undefined;

    public Decoder(OpcodeTable table, dev.hako.soft.exec.Exec undefinedHandler) {
        this.table = table;
        this.undefined = new OpSpec("(bad)", 0, OpSpec.IMM_NONE, 0, undefinedHandler);
    }

    /** Decodes the instruction at {@code addr} into {@code out}. */
    public void decode(Cpu cpu, long addr, Insn out) {
        Mmu mem = cpu.mem;
        long p = addr;
        boolean opsize = false, addrsize = false, lock = false;
        int repPrefix = 0, segment = Cpu.SEG_NONE, rex = 0;
        int b;
        while (true) {
            b = mem.fetch8(p++);
            if (p - addr > MAX_LENGTH) {
                throw cpu.fault(CpuFault.GP, 0);
            }
            if ((b & 0xF0) == 0x40) {
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
                case 0x26, 0x2E, 0x36, 0x3E -> { } // null segments in 64-bit mode
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
            opcode = mem.fetch8(p++);
            map = OpcodeTable.MAP_0F;
            if (opcode == 0x38) {
                map = OpcodeTable.MAP_0F38;
                opcode = mem.fetch8(p++);
            } else if (opcode == 0x3A) {
                map = OpcodeTable.MAP_0F3A;
                opcode = mem.fetch8(p++);
            }
        }
        OpSpec spec = table.maps[map][opcode];
        boolean hasModrm = spec != null && spec.has(OpSpec.MODRM);
        int modrm = hasModrm ? mem.fetch8(p++) : 0;
        int mod = modrm >>> 6;
        int modReg = (modrm >>> 3) & 7;

        // Resolve composite entries.
        boolean mandatoryUsed = false;
        boolean mandatory66 = false;
        while (spec != null && spec.isComposite()) {
            if (spec.byPrefix != null) {
                int column = repPrefix == 0xF2 ? OpcodeTable.PF2 : repPrefix == 0xF3 ? OpcodeTable.PF3
                        : opsize ? OpcodeTable.P66 : OpcodeTable.NP;
                OpSpec chosen = spec.byPrefix[column];
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
        out.modrm = modrm;
        out.segment = segment;
        out.lock = lock;
        out.rep = mandatoryUsed ? 0 : repPrefix;
        out.rexW = (rex & 8) != 0;
        out.hasRex = rex != 0;
        out.addrSize = addrsize ? 4 : 8;
        if ((flags & OpSpec.BYTE) != 0) {
            out.opSize = 1;
        } else if ((flags & OpSpec.F64) != 0 || (rex & 8) != 0) {
            out.opSize = 8;
        } else if (opsize && (!mandatory66 || (flags & OpSpec.KEEP_66) != 0)) {
            out.opSize = 2;
        } else {
            out.opSize = (flags & OpSpec.D64) != 0 ? 8 : 4;
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
            } else {
                if (rm == 4) {
                    int sib = mem.fetch8(p++);
                    int idx = ((sib >>> 3) & 7) | ((rex & 2) << 2);
                    int base = (sib & 7) | ((rex & 1) << 3);
                    out.scale = sib >>> 6;
                    out.index = idx == 4 ? -1 : idx;
                    if ((sib & 7) == 5 && mod == 0) {
                        out.base = -1;
                        out.disp = fetch32(mem, p);
                        p += 4;
                    } else {
                        out.base = base;
                    }
                } else if (rm == 5 && mod == 0) {
                    ripRelative = true;
                    out.disp = fetch32(mem, p);
                    p += 4;
                } else {
                    out.base = rm | ((rex & 1) << 3);
                }
                if (mod == 1) {
                    out.disp = (byte) mem.fetch8(p++);
                } else if (mod == 2) {
                    out.disp = fetch32(mem, p);
                    p += 4;
                }
            }
        } else if ((flags & OpSpec.OPREG) != 0) {
            int reg = (opcode & 7) | ((rex & 1) << 3);
            if ((flags & OpSpec.BYTE) != 0 && rex == 0 && reg >= 4 && reg < 8) {
                reg += 12;
            }
            out.reg = reg;
        }

        switch (spec.immediate) {
            case OpSpec.IB, OpSpec.JB -> out.imm = (byte) mem.fetch8(p++);
            case OpSpec.IB_UNSIGNED -> out.imm = mem.fetch8(p++);
            case OpSpec.IW -> {
                out.imm = fetch16(mem, p);
                p += 2;
            }
            case OpSpec.IZ, OpSpec.JZ -> {
                if (out.opSize == 2 && spec.immediate == OpSpec.IZ) {
                    out.imm = (short) fetch16(mem, p);
                    p += 2;
                } else {
                    out.imm = fetch32(mem, p);
                    p += 4;
                }
            }
            case OpSpec.IV -> {
                if (out.opSize == 8) {
                    out.imm = fetch32(mem, p) & 0xFFFFFFFFL | ((long) fetch32(mem, p + 4) << 32);
                    p += 8;
                } else if (out.opSize == 2) {
                    out.imm = fetch16(mem, p);
                    p += 2;
                } else {
                    out.imm = fetch32(mem, p) & 0xFFFFFFFFL;
                    p += 4;
                }
            }
            case OpSpec.IW_IB -> {
                out.imm = fetch16(mem, p);
                out.imm2 = mem.fetch8(p + 2);
                p += 3;
            }
            case OpSpec.MOFFS -> {
                if (addrsize) {
                    out.disp = fetch32(mem, p) & 0xFFFFFFFFL;
                    p += 4;
                } else {
                    out.disp = fetch32(mem, p) & 0xFFFFFFFFL | ((long) fetch32(mem, p + 4) << 32);
                    p += 8;
                }
            }
            default -> { }
        }
        int length = (int) (p - addr);
        if (length > MAX_LENGTH) {
            throw cpu.fault(CpuFault.GP, 0);
        }
        out.length = length;
        out.next = p;
        if (ripRelative) {
            out.disp += p;
        }
        if (spec.immediate == OpSpec.JB || spec.immediate == OpSpec.JZ) {
            out.imm += p;
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

    private static int fetch16(Mmu mem, long p) {
        return mem.fetch8(p) | (mem.fetch8(p + 1) << 8);
    }

    private static int fetch32(Mmu mem, long p) {
        return mem.fetch8(p) | (mem.fetch8(p + 1) << 8) | (mem.fetch8(p + 2) << 16) | (mem.fetch8(p + 3) << 24);
    }
}
