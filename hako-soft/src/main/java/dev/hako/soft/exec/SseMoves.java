package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpSpec.MEM_ONLY;
import static dev.hako.soft.decode.OpSpec.MODRM;
import static dev.hako.soft.decode.OpSpec.REG_ONLY;
import static dev.hako.soft.decode.OpcodeTable.ANY;
import static dev.hako.soft.decode.OpcodeTable.MAP_0F;
import static dev.hako.soft.decode.OpcodeTable.NP;
import static dev.hako.soft.decode.OpcodeTable.P66;
import static dev.hako.soft.decode.OpcodeTable.PF2;
import static dev.hako.soft.decode.OpcodeTable.PF3;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;
import dev.hako.soft.fault.CpuFault;

/**
 * SSE/SSE2 data movement (SDM vol. 1 10.4.1, 11.4.1): 128-bit, scalar and half moves, MOVD/MOVQ, the
 * non-temporal stores (plain stores here: there is no cache to bypass), MASKMOVDQU, the sign-mask
 * extractions, and LDMXCSR/STMXCSR.
 */
final class SseMoves {
    private SseMoves() {}

    static void register(OpcodeTable t) {
        int[] packedPrefixes = {NP, P66};
        String[][] packedNames = {{"movups", "movaps", "movntps"}, {"movupd", "movapd", "movntpd"}};
        for (int p = 0; p < 2; p++) {
            int prefix = packedPrefixes[p];
            t.add(MAP_0F, 0x10, prefix, ANY, packedNames[p][0], MODRM, IMM_NONE, 0, SseMoves::loadUnaligned);
            t.add(MAP_0F, 0x11, prefix, ANY, packedNames[p][0], MODRM, IMM_NONE, 0, SseMoves::storeUnaligned);
            t.add(MAP_0F, 0x28, prefix, ANY, packedNames[p][1], MODRM, IMM_NONE, 0, SseMoves::loadAligned);
            t.add(MAP_0F, 0x29, prefix, ANY, packedNames[p][1], MODRM, IMM_NONE, 0, SseMoves::storeAligned);
            t.add(MAP_0F, 0x2B, prefix, ANY, packedNames[p][2], MODRM | MEM_ONLY, IMM_NONE, 0,
                    SseMoves::storeAligned);
        }
        t.add(MAP_0F, 0x10, PF3, ANY, "movss", MODRM, IMM_NONE, 0, SseMoves::movssLoad);
        t.add(MAP_0F, 0x11, PF3, ANY, "movss", MODRM, IMM_NONE, 0, SseMoves::movssStore);
        t.add(MAP_0F, 0x10, PF2, ANY, "movsd", MODRM, IMM_NONE, 0, SseMoves::movsdLoad);
        t.add(MAP_0F, 0x11, PF2, ANY, "movsd", MODRM, IMM_NONE, 0, SseMoves::movsdStore);

        t.addForm(MAP_0F, 0x12, NP, ANY, "movlps", MODRM | MEM_ONLY, IMM_NONE, 0, SseMoves::loadLow);
        t.addForm(MAP_0F, 0x12, NP, ANY, "movhlps", MODRM | REG_ONLY, IMM_NONE, 0, SseMoves::movhlps);
        t.add(MAP_0F, 0x12, P66, ANY, "movlpd", MODRM | MEM_ONLY, IMM_NONE, 0, SseMoves::loadLow);
        t.add(MAP_0F, 0x13, NP, ANY, "movlps", MODRM | MEM_ONLY, IMM_NONE, 0, SseMoves::storeLow);
        t.add(MAP_0F, 0x13, P66, ANY, "movlpd", MODRM | MEM_ONLY, IMM_NONE, 0, SseMoves::storeLow);
        t.addForm(MAP_0F, 0x16, NP, ANY, "movhps", MODRM | MEM_ONLY, IMM_NONE, 0, SseMoves::loadHigh);
        t.addForm(MAP_0F, 0x16, NP, ANY, "movlhps", MODRM | REG_ONLY, IMM_NONE, 0, SseMoves::movlhps);
        t.add(MAP_0F, 0x16, P66, ANY, "movhpd", MODRM | MEM_ONLY, IMM_NONE, 0, SseMoves::loadHigh);
        t.add(MAP_0F, 0x17, NP, ANY, "movhps", MODRM | MEM_ONLY, IMM_NONE, 0, SseMoves::storeHigh);
        t.add(MAP_0F, 0x17, P66, ANY, "movhpd", MODRM | MEM_ONLY, IMM_NONE, 0, SseMoves::storeHigh);

        t.add(MAP_0F, 0x6F, P66, ANY, "movdqa", MODRM, IMM_NONE, 0, SseMoves::loadAligned);
        t.add(MAP_0F, 0x6F, PF3, ANY, "movdqu", MODRM, IMM_NONE, 0, SseMoves::loadUnaligned);
        t.add(MAP_0F, 0x7F, P66, ANY, "movdqa", MODRM, IMM_NONE, 0, SseMoves::storeAligned);
        t.add(MAP_0F, 0x7F, PF3, ANY, "movdqu", MODRM, IMM_NONE, 0, SseMoves::storeUnaligned);
        t.add(MAP_0F, 0xE7, P66, ANY, "movntdq", MODRM | MEM_ONLY, IMM_NONE, 0, SseMoves::storeAligned);
        t.add(MAP_0F, 0xC3, NP, ANY, "movnti", MODRM | MEM_ONLY, IMM_NONE, 0, SseMoves::movnti);

        t.add(MAP_0F, 0x6E, P66, ANY, "movd", MODRM, IMM_NONE, 0, SseMoves::movdToXmm);
        t.add(MAP_0F, 0x7E, P66, ANY, "movd", MODRM, IMM_NONE, 0, SseMoves::movdFromXmm);
        t.add(MAP_0F, 0x7E, PF3, ANY, "movq", MODRM, IMM_NONE, 0, SseMoves::movqLoad);
        t.add(MAP_0F, 0xD6, P66, ANY, "movq", MODRM, IMM_NONE, 0, SseMoves::movqStore);

        t.add(MAP_0F, 0x50, NP, ANY, "movmskps", MODRM | REG_ONLY, IMM_NONE, 0, SseMoves::movmskps);
        t.add(MAP_0F, 0x50, P66, ANY, "movmskpd", MODRM | REG_ONLY, IMM_NONE, 0, SseMoves::movmskpd);
        t.add(MAP_0F, 0xD7, P66, ANY, "pmovmskb", MODRM | REG_ONLY, IMM_NONE, 0, SseMoves::pmovmskb);
        t.add(MAP_0F, 0xF7, P66, ANY, "maskmovdqu", MODRM | REG_ONLY, IMM_NONE, 0, SseMoves::maskmovdqu);

        // The register forms of 0F AE are the fences, registered elsewhere.
        t.addForm(MAP_0F, 0xAE, ANY, 2, "ldmxcsr", MODRM | MEM_ONLY, IMM_NONE, 0, SseMoves::ldmxcsr);
        t.addForm(MAP_0F, 0xAE, ANY, 3, "stmxcsr", MODRM | MEM_ONLY, IMM_NONE, 0, SseMoves::stmxcsr);
    }

    static void loadAligned(Cpu c, Insn i) {
        long lo = Xmm.srcLo(c, i);
        Xmm.set(c, i.reg, lo, Xmm.srcHi(c, i));
    }

    static void loadUnaligned(Cpu c, Insn i) {
        long lo = Xmm.unalignedLo(c, i);
        Xmm.set(c, i.reg, lo, Xmm.srcHi(c, i));
    }

    static void storeAligned(Cpu c, Insn i) {
        store128(c, i, true);
    }

    static void storeUnaligned(Cpu c, Insn i) {
        store128(c, i, false);
    }

    /** xmm/m128 = xmm; a memory destination must be 16-byte aligned if {@code aligned}. */
    private static void store128(Cpu c, Insn i, boolean aligned) {
        if (i.rmIsReg) {
            Xmm.set(c, i.rm, c.xmm[2 * i.reg], c.xmm[2 * i.reg + 1]);
            return;
        }
        long ea = aligned ? Xmm.alignedEa(c, i) : c.ea(i);
        c.mem.write64(ea, c.xmm[2 * i.reg]);
        c.mem.write64(ea + 8, c.xmm[2 * i.reg + 1]);
    }

    /** MOVSS xmm, xmm/m32: the register form merges the low element, the load zeroes the rest. */
    static void movssLoad(Cpu c, Insn i) {
        if (i.rmIsReg) {
            Xmm.setLow32(c, i.reg, c.xmm[2 * i.rm]);
        } else {
            Xmm.set(c, i.reg, c.mem.read32(c.ea(i)), 0);
        }
    }

    static void movssStore(Cpu c, Insn i) {
        if (i.rmIsReg) {
            Xmm.setLow32(c, i.rm, c.xmm[2 * i.reg]);
        } else {
            c.mem.write32(c.ea(i), c.xmm[2 * i.reg] & Xmm.LOW32);
        }
    }

    static void movsdLoad(Cpu c, Insn i) {
        if (i.rmIsReg) {
            c.xmm[2 * i.reg] = c.xmm[2 * i.rm];
        } else {
            Xmm.set(c, i.reg, c.mem.read64(c.ea(i)), 0);
        }
    }

    static void movsdStore(Cpu c, Insn i) {
        if (i.rmIsReg) {
            c.xmm[2 * i.rm] = c.xmm[2 * i.reg];
        } else {
            c.mem.write64(c.ea(i), c.xmm[2 * i.reg]);
        }
    }

    static void loadLow(Cpu c, Insn i) {
        c.xmm[2 * i.reg] = c.mem.read64(c.ea(i));
    }

    static void loadHigh(Cpu c, Insn i) {
        c.xmm[2 * i.reg + 1] = c.mem.read64(c.ea(i));
    }

    static void storeLow(Cpu c, Insn i) {
        c.mem.write64(c.ea(i), c.xmm[2 * i.reg]);
    }

    static void storeHigh(Cpu c, Insn i) {
        c.mem.write64(c.ea(i), c.xmm[2 * i.reg + 1]);
    }

    static void movhlps(Cpu c, Insn i) {
        c.xmm[2 * i.reg] = c.xmm[2 * i.rm + 1];
    }

    static void movlhps(Cpu c, Insn i) {
        c.xmm[2 * i.reg + 1] = c.xmm[2 * i.rm];
    }

    static void movnti(Cpu c, Insn i) {
        c.mem.write(c.ea(i), i.opSize, c.getReg(i.reg, i.opSize));
    }

    /** MOVD/MOVQ xmm, r/m32 or r/m64 (REX.W): zero-extends into the whole register. */
    static void movdToXmm(Cpu c, Insn i) {
        Xmm.set(c, i.reg, c.readRm(i), 0);
    }

    static void movdFromXmm(Cpu c, Insn i) {
        long v = c.xmm[2 * i.reg];
        c.writeRm(i, i.opSize == 8 ? v : v & Xmm.LOW32);
    }

    /** MOVQ xmm, xmm/m64 (F3 0F 7E): zero-extends. */
    static void movqLoad(Cpu c, Insn i) {
        Xmm.set(c, i.reg, Xmm.src64(c, i), 0);
    }

    /** MOVQ xmm/m64, xmm (66 0F D6): a register destination has its high half zeroed. */
    static void movqStore(Cpu c, Insn i) {
        if (i.rmIsReg) {
            Xmm.set(c, i.rm, c.xmm[2 * i.reg], 0);
        } else {
            c.mem.write64(c.ea(i), c.xmm[2 * i.reg]);
        }
    }

    static void movmskps(Cpu c, Insn i) {
        long lo = c.xmm[2 * i.rm], hi = c.xmm[2 * i.rm + 1];
        long mask = ((lo >>> 31) & 1) | ((lo >>> 62) & 2) | ((hi >>> 29) & 4) | ((hi >>> 60) & 8);
        c.setReg(i.reg, 8, mask);
    }

    static void movmskpd(Cpu c, Insn i) {
        long mask = (c.xmm[2 * i.rm] >>> 63) | ((c.xmm[2 * i.rm + 1] >>> 63) << 1);
        c.setReg(i.reg, 8, mask);
    }

    static void pmovmskb(Cpu c, Insn i) {
        c.setReg(i.reg, 8, byteSigns(c.xmm[2 * i.rm]) | (byteSigns(c.xmm[2 * i.rm + 1]) << 8));
    }

    /** The top bit of each byte, byte 0's in bit 0. */
    static long byteSigns(long v) {
        long mask = 0;
        for (int k = 0; k < 8; k++) {
            mask |= ((v >>> (8 * k + 7)) & 1) << k;
        }
        return mask;
    }

    /** MASKMOVDQU: stores the bytes of reg whose mask byte (in rm) has its top bit set, at DS:rDI. */
    static void maskmovdqu(Cpu c, Insn i) {
        storeMasked(c, i, 0, c.xmm[2 * i.reg], c.xmm[2 * i.rm]);
        storeMasked(c, i, 8, c.xmm[2 * i.reg + 1], c.xmm[2 * i.rm + 1]);
    }

    /** The bytes of {@code data} whose byte in {@code mask} has its top bit set, at DS:rDI + {@code offset}. */
    static void storeMasked(Cpu c, Insn i, int offset, long data, long mask) {
        long base = (c.r[Cpu.RDI] & Cpu.addressMask(i.addrSize)) + c.segmentBase(i.segment) + offset;
        for (int k = 0; k < 8; k++) {
            if (((mask >>> (8 * k)) & 0x80) != 0) {
                c.mem.write8(base + k, (int) (data >>> (8 * k)) & 0xFF);
            }
        }
    }

    static void ldmxcsr(Cpu c, Insn i) {
        int value = (int) c.mem.read32(c.ea(i));
        if ((value & ~Mxcsr.WRITABLE) != 0) {
            throw c.fault(CpuFault.GP, 0);
        }
        c.mxcsr = value;
    }

    static void stmxcsr(Cpu c, Insn i) {
        c.mem.write32(c.ea(i), c.mxcsr & Xmm.LOW32);
    }
}
