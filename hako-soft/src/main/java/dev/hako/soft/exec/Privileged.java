package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.ENDS_BLOCK;
import static dev.hako.soft.decode.OpSpec.F64;
import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpSpec.IW;
import static dev.hako.soft.decode.OpSpec.MEM_ONLY;
import static dev.hako.soft.decode.OpSpec.MODRM;
import static dev.hako.soft.decode.OpSpec.REG_ONLY;
import static dev.hako.soft.decode.OpcodeTable.ANY;
import static dev.hako.soft.decode.OpcodeTable.MAP_0F;
import static dev.hako.soft.decode.OpcodeTable.ONE_BYTE;

import dev.hako.core.x86.DebugRegisters;
import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;
import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.ControlRegisters;

/**
 * System instructions (SDM vol. 3 ch. 2.8 and the instruction reference): control and debug registers,
 * descriptor-table registers, RDMSR/WRMSR, INVLPG, SWAPGS, CLI/STI/HLT, WBINVD/INVD, CLTS, SMSW/LMSW,
 * segment register moves. Privileged ones raise #GP(0) outside CPL 0.
 */
final class Privileged {
    /** CR4 bits this CPU implements (CPUID advertises the matching features); setting others is #GP(0). */
    private static final long CR4_SUPPORTED = ControlRegisters.CR4_TSD | ControlRegisters.CR4_DE
            | ControlRegisters.CR4_PSE | ControlRegisters.CR4_PAE | ControlRegisters.CR4_MCE
            | ControlRegisters.CR4_PGE | ControlRegisters.CR4_PCE | ControlRegisters.CR4_OSFXSR
            | ControlRegisters.CR4_OSXMMEXCPT;

    private Privileged() {}

    static void register(OpcodeTable t) {
        t.op(MAP_0F, 0x20, "mov", MODRM | REG_ONLY | F64, IMM_NONE, 0, Privileged::movFromCr);
        t.op(MAP_0F, 0x22, "mov", MODRM | REG_ONLY | F64 | ENDS_BLOCK, IMM_NONE, 0, Privileged::movToCr);
        t.op(MAP_0F, 0x21, "mov", MODRM | REG_ONLY | F64, IMM_NONE, 0, Privileged::movFromDr);
        t.op(MAP_0F, 0x23, "mov", MODRM | REG_ONLY | F64, IMM_NONE, 0, Privileged::movToDr);
        t.op(MAP_0F, 0x30, "wrmsr", ENDS_BLOCK, IMM_NONE, 0, Privileged::wrmsr);
        t.op(MAP_0F, 0x32, "rdmsr", 0, IMM_NONE, 0, Privileged::rdmsr);
        t.op(MAP_0F, 0x06, "clts", 0, IMM_NONE, 0, Privileged::clts);
        t.op(MAP_0F, 0x08, "invd", 0, IMM_NONE, 0, Privileged::cacheFlush);
        t.op(MAP_0F, 0x09, "wbinvd", 0, IMM_NONE, 0, Privileged::cacheFlush);
        t.op(ONE_BYTE, 0xFA, "cli", 0, IMM_NONE, 0, Privileged::cli);
        t.op(ONE_BYTE, 0xFB, "sti", ENDS_BLOCK, IMM_NONE, 0, Privileged::sti);
        t.addForm(MAP_0F, 0x01, ANY, 0, "sgdt", MODRM | MEM_ONLY, IMM_NONE, 0, Privileged::storeTableRegister);
        t.addForm(MAP_0F, 0x01, ANY, 1, "sidt", MODRM | MEM_ONLY, IMM_NONE, 1, Privileged::storeTableRegister);
        t.addForm(MAP_0F, 0x01, ANY, 2, "lgdt", MODRM | MEM_ONLY, IMM_NONE, 0, Privileged::loadTableRegister);
        t.addForm(MAP_0F, 0x01, ANY, 3, "lidt", MODRM | MEM_ONLY, IMM_NONE, 1, Privileged::loadTableRegister);
        t.addForm(MAP_0F, 0x01, ANY, 4, "smsw", MODRM | MEM_ONLY, IMM_NONE, 0, Privileged::smsw);
        t.addForm(MAP_0F, 0x01, ANY, 6, "lmsw", MODRM | MEM_ONLY | ENDS_BLOCK, IMM_NONE, 0, Privileged::lmsw);
        t.addForm(MAP_0F, 0x01, ANY, 7, "invlpg", MODRM | MEM_ONLY | ENDS_BLOCK, IMM_NONE, 0, Privileged::invlpg);
        t.addRm(MAP_0F, 0x01, 7, 0, "swapgs", 0, Privileged::swapgs);
        t.addForm(MAP_0F, 0x00, ANY, 0, "sldt", MODRM | MEM_ONLY, IMM_NONE, 0, Privileged::storeSystemSelector);
        t.addForm(MAP_0F, 0x00, ANY, 0, "sldt", MODRM | REG_ONLY, IMM_NONE, 0, Privileged::storeSystemSelector);
        t.addForm(MAP_0F, 0x00, ANY, 1, "str", MODRM | MEM_ONLY, IMM_NONE, 1, Privileged::storeSystemSelector);
        t.addForm(MAP_0F, 0x00, ANY, 1, "str", MODRM | REG_ONLY, IMM_NONE, 1, Privileged::storeSystemSelector);
        t.add(MAP_0F, 0x00, ANY, 2, "lldt", MODRM, IMM_NONE, 0, Privileged::lldt);
        t.add(MAP_0F, 0x00, ANY, 3, "ltr", MODRM, IMM_NONE, 0, Privileged::ltr);
        t.add(MAP_0F, 0x00, ANY, 4, "verr", MODRM, IMM_NONE, 0, Privileged::verify);
        t.add(MAP_0F, 0x00, ANY, 5, "verw", MODRM, IMM_NONE, 1, Privileged::verify);
        t.op(ONE_BYTE, 0x8E, "mov", MODRM | ENDS_BLOCK, IMM_NONE, 0, Privileged::movToSreg);
        t.op(ONE_BYTE, 0x8C, "mov", MODRM, IMM_NONE, 0, Privileged::movFromSreg);
        t.op(MAP_0F, 0xB2, "lss", MODRM | MEM_ONLY | ENDS_BLOCK, IMM_NONE, SystemState.SS, Privileged::loadFarPointer);
        t.op(MAP_0F, 0xB4, "lfs", MODRM | MEM_ONLY, IMM_NONE, SystemState.FS, Privileged::loadFarPointer);
        t.op(MAP_0F, 0xB5, "lgs", MODRM | MEM_ONLY, IMM_NONE, SystemState.GS, Privileged::loadFarPointer);
        t.op(MAP_0F, 0xA0, "push", F64, IMM_NONE, SystemState.FS, Privileged::pushSreg);
        t.op(MAP_0F, 0xA8, "push", F64, IMM_NONE, SystemState.GS, Privileged::pushSreg);
        t.op(MAP_0F, 0xA1, "pop", F64, IMM_NONE, SystemState.FS, Privileged::popSreg);
        t.op(MAP_0F, 0xA9, "pop", F64, IMM_NONE, SystemState.GS, Privileged::popSreg);
        t.op(ONE_BYTE, 0xCB, "lret", ENDS_BLOCK, IMM_NONE, 0, FarTransfers::farReturn);
        t.op(ONE_BYTE, 0xCA, "lret", ENDS_BLOCK, IW, 0, FarTransfers::farReturn);
        t.op(ONE_BYTE, 0xCF, "iret", ENDS_BLOCK, IMM_NONE, 0, FarTransfers::iret);
        t.addForm(ONE_BYTE, 0xFF, ANY, 3, "lcall", MODRM | MEM_ONLY | ENDS_BLOCK, IMM_NONE, 0, FarTransfers::farCall);
        t.addForm(ONE_BYTE, 0xFF, ANY, 5, "ljmp", MODRM | MEM_ONLY | ENDS_BLOCK, IMM_NONE, 0, FarTransfers::farJump);
    }

    static void requireCpl0(Cpu c) {
        if (c.cpl != 0) {
            throw c.fault(CpuFault.GP, 0);
        }
    }

    private static int iopl(Cpu c) {
        return (int) (c.flagsOther >>> 12) & 3;
    }

    static void movFromCr(Cpu c, Insn i) {
        requireCpl0(c);
        ControlRegisters cr = c.sys.cr;
        long v = switch (i.reg) {
            case 0 -> cr.cr0;
            case 2 -> cr.cr2;
            case 3 -> cr.cr3;
            case 4 -> cr.cr4;
            case 8 -> 0; // TPR lives in the local APIC; not mirrored here
            default -> throw c.fault(CpuFault.UD);
        };
        c.r[i.rm] = v;
    }

    static void movToCr(Cpu c, Insn i) {
        requireCpl0(c);
        ControlRegisters cr = c.sys.cr;
        long v = c.mode == Cpu.MODE_64 ? c.r[i.rm] : c.r[i.rm] & 0xFFFFFFFFL;
        switch (i.reg) {
            case 0 -> writeCr0(c, v);
            case 2 -> cr.cr2 = v;
            case 3 -> {
                cr.cr3 = v & 0x000F_FFFF_FFFF_F000L;
                c.mem.flushNonGlobal(); // global pages stay (SDM vol. 3A, 4.10.4.1)
            }
            case 4 -> {
                if ((v & ~CR4_SUPPORTED) != 0 || (cr.longMode() && (v & ControlRegisters.CR4_PAE) == 0)) {
                    throw c.fault(CpuFault.GP, 0);
                }
                boolean debugExtensionsChanged = ((cr.cr4 ^ v) & ControlRegisters.CR4_DE) != 0;
                cr.cr4 = v;
                c.mem.flush();
                if (debugExtensionsChanged) {
                    c.debugRegistersWritten.run(); // DE decides whether DR7's R/W 10 arms an I/O breakpoint
                }
            }
            case 8 -> { }
            default -> throw c.fault(CpuFault.UD);
        }
    }

    static void writeCr0(Cpu c, long v) {
        ControlRegisters cr = c.sys.cr;
        v |= ControlRegisters.CR0_ET;
        if ((v >>> 32) != 0 || ((v & ControlRegisters.CR0_PG) != 0 && (v & ControlRegisters.CR0_PE) == 0)
                || ((v & ControlRegisters.CR0_NW) != 0 && (v & ControlRegisters.CR0_CD) == 0)) {
            throw c.fault(CpuFault.GP, 0);
        }
        boolean enablingPaging = (v & ControlRegisters.CR0_PG) != 0 && !cr.paging();
        if (enablingPaging && (cr.efer & ControlRegisters.EFER_LME) != 0) {
            if ((cr.cr4 & ControlRegisters.CR4_PAE) == 0) {
                throw c.fault(CpuFault.GP, 0);
            }
            cr.efer |= ControlRegisters.EFER_LMA;
        }
        if ((v & ControlRegisters.CR0_PG) == 0) {
            cr.efer &= ~ControlRegisters.EFER_LMA;
        }
        cr.cr0 = v;
        c.mem.flush();
        c.updateMode();
    }

    static void movFromDr(Cpu c, Insn i) {
        long v = c.sys.dr[debugRegister(c, i)];
        c.r[i.rm] = c.mode == Cpu.MODE_64 ? v : v & 0xFFFFFFFFL;
    }

    /** DR6 and DR7 keep their fixed bits; what DR0-DR3 and DR7 arm is armed before the next instruction. */
    static void movToDr(Cpu c, Insn i) {
        int n = debugRegister(c, i);
        long v = c.mode == Cpu.MODE_64 ? c.r[i.rm] : c.r[i.rm] & 0xFFFFFFFFL;
        if (n >= 6 && v >>> 32 != 0) {
            throw c.fault(CpuFault.GP, 0);
        }
        if (n == 6) {
            c.sys.dr[6] = v & DebugRegisters.DR6_WRITABLE | DebugRegisters.DR6_FIXED;
            return;
        }
        c.sys.dr[n] = n == 7 ? v & DebugRegisters.DR7_WRITABLE | DebugRegisters.DR7_FIXED : v;
        c.debugRegistersWritten.run();
    }

    /**
     * The debug register a MOV DR names, in the SDM's order of checks: CPL 0; DR4 and DR5 are DR6 and DR7 unless
     * CR4.DE makes them #UD; DR7.GD makes the MOV a #DB fault with DR6.BD set, and clears GD for the handler.
     */
    private static int debugRegister(Cpu c, Insn i) {
        requireCpl0(c);
        int n = i.reg;
        if (n > 7 || (n == 4 || n == 5) && (c.sys.cr.cr4 & ControlRegisters.CR4_DE) != 0) {
            throw c.fault(CpuFault.UD);
        }
        if ((c.sys.dr[7] & DebugRegisters.DR7_GD) != 0) {
            c.sys.dr[7] &= ~DebugRegisters.DR7_GD;
            c.sys.dr[6] |= DebugRegisters.DR6_BD;
            c.flagsOther |= Flags.RF; // a fault other than an instruction breakpoint: its frame carries RF
            throw c.fault(CpuFault.DB);
        }
        return n == 4 || n == 5 ? n + 2 : n;
    }

    static void rdmsr(Cpu c, Insn i) {
        requireCpl0(c);
        long v = Msrs.read(c, (int) c.r[Cpu.RCX]);
        c.r[Cpu.RAX] = v & 0xFFFFFFFFL;
        c.r[Cpu.RDX] = v >>> 32;
    }

    static void wrmsr(Cpu c, Insn i) {
        requireCpl0(c);
        Msrs.write(c, (int) c.r[Cpu.RCX], (c.r[Cpu.RDX] << 32) | (c.r[Cpu.RAX] & 0xFFFFFFFFL));
    }

    static void clts(Cpu c, Insn i) {
        requireCpl0(c);
        c.sys.cr.cr0 &= ~ControlRegisters.CR0_TS;
    }

    /** Nothing is cached between the soft CPU and RAM. */
    static void cacheFlush(Cpu c, Insn i) {
        requireCpl0(c);
    }

    static void cli(Cpu c, Insn i) {
        if (c.cpl > iopl(c)) {
            throw c.fault(CpuFault.GP, 0);
        }
        c.flagsOther &= ~Flags.IF;
    }

    /** STI: interrupts are recognised only after the next instruction (the interrupt shadow). */
    static void sti(Cpu c, Insn i) {
        if (c.cpl > iopl(c)) {
            throw c.fault(CpuFault.GP, 0);
        }
        if ((c.flagsOther & Flags.IF) == 0) {
            c.flagsOther |= Flags.IF;
            c.sys.interruptShadowRip = i.next;
            c.attention = true;
            c.exitBlock = true; // the shadowed instruction runs alone, then a waiting interrupt is taken
        }
    }

    static void storeTableRegister(Cpu c, Insn i) {
        long ea = c.ea(i);
        boolean idt = i.sub == 1;
        c.mem.write16(ea, idt ? c.sys.idtLimit : c.sys.gdtLimit);
        long base = idt ? c.sys.idtBase : c.sys.gdtBase;
        if (c.mode == Cpu.MODE_64) {
            c.mem.write64(ea + 2, base);
        } else {
            c.mem.write32(ea + 2, base);
        }
    }

    static void loadTableRegister(Cpu c, Insn i) {
        requireCpl0(c);
        long ea = c.ea(i);
        int limit = c.mem.read16(ea);
        // Outside 64-bit mode the base is 32 bits, or 24 with a 16-bit operand size.
        long base = c.mode == Cpu.MODE_64 ? c.mem.read64(ea + 2)
                : c.mem.read32(ea + 2) & (i.opSize == 2 ? 0xFFFFFFL : 0xFFFFFFFFL);
        if (i.sub == 1) {
            c.sys.idtLimit = limit;
            c.sys.idtBase = base;
        } else {
            c.sys.gdtLimit = limit;
            c.sys.gdtBase = base;
        }
    }

    static void smsw(Cpu c, Insn i) {
        c.mem.write16(c.ea(i), (int) c.sys.cr.cr0);
    }

    static void lmsw(Cpu c, Insn i) {
        requireCpl0(c);
        long v = c.mem.read16(c.ea(i)) & 0xF;
        long cr0 = c.sys.cr.cr0;
        // LMSW cannot clear PE.
        writeCr0(c, (cr0 & ~0xEL) | v | (cr0 & 1));
    }

    static void invlpg(Cpu c, Insn i) {
        requireCpl0(c);
        c.mem.flushPage(c.ea(i));
    }

    static void swapgs(Cpu c, Insn i) {
        requireCpl0(c);
        long gs = c.gsBase;
        c.gsBase = c.kernelGsBase;
        c.kernelGsBase = gs;
    }

    /** SLDT (sub 0) and STR (sub 1). */
    static void storeSystemSelector(Cpu c, Insn i) {
        int selector = i.sub == 0 ? c.sys.ldtSelector : c.sys.trSelector;
        if (i.rmIsReg) {
            c.setReg(i.rm, i.opSize, selector);
        } else {
            c.mem.write16(c.ea(i), selector);
        }
    }

    static void lldt(Cpu c, Insn i) {
        requireCpl0(c);
        int selector = (int) c.readRm(i, 2);
        if ((selector & ~3) == 0) {
            c.sys.ldtSelector = 0;
            c.sys.ldtBase = 0;
            c.sys.ldtLimit = 0;
            return;
        }
        long d = Descriptors.descriptor(c, selector);
        if (((d >>> 40) & 0x1F) != 0x02) {
            throw c.fault(CpuFault.GP, selector & ~3);
        }
        c.sys.ldtSelector = selector;
        c.sys.ldtBase = Descriptors.base(d) | (Descriptors.readImplicit64(c, c.sys.gdtBase + (selector & ~7) + 8) << 32);
        c.sys.ldtLimit = (int) Descriptors.limit(d);
    }

    /** LTR: loads an available 64-bit TSS and marks it busy in the GDT. */
    static void ltr(Cpu c, Insn i) {
        requireCpl0(c);
        int selector = (int) c.readRm(i, 2);
        if ((selector & ~3) == 0 || (selector & 4) != 0) {
            throw c.fault(CpuFault.GP, selector & ~3);
        }
        long d = Descriptors.descriptor(c, selector);
        if (((d >>> 40) & 0x1F) != 0x09) {
            throw c.fault(CpuFault.GP, selector & ~3);
        }
        if (!Descriptors.present(d)) {
            throw c.fault(CpuFault.NP, selector & ~3);
        }
        long entry = c.sys.gdtBase + (selector & ~7);
        long high = Descriptors.readImplicit64(c, entry + 8);
        c.mem.write64(entry, d | (1L << 41)); // busy
        c.sys.trSelector = selector;
        c.sys.trBase = Descriptors.base(d) | (high << 32);
        c.sys.trLimit = (int) Descriptors.limit(d);
    }

    /**
     * VERR (sub 0) and VERW (sub 1): ZF tells whether the segment could be read or written at the current
     * privilege. Linux runs VERW on every return to user mode (the MDS buffer-clearing idiom).
     */
    static void verify(Cpu c, Insn i) {
        int selector = (int) c.readRm(i, 2);
        long flags = Flags.arith(c) & ~Flags.ZF;
        boolean ok = false;
        boolean local = (selector & 4) != 0;
        int limit = local ? c.sys.ldtLimit : c.sys.gdtLimit;
        if ((selector & ~3) != 0 && (selector | 7) <= limit) {
            long d = Descriptors.descriptor(c, selector);
            int type = (int) (d >>> 40) & 0x1F; // S and type
            boolean code = (type & 0x18) == 0x18;
            boolean data = (type & 0x18) == 0x10;
            boolean conformingCode = code && (type & 4) != 0;
            boolean privileged = conformingCode || Descriptors.dpl(d) >= Math.max(c.cpl, selector & 3);
            ok = privileged && (i.sub == 0 ? data || (code && (type & 2) != 0) : data && (type & 2) != 0);
        }
        c.setArithFlags(ok ? flags | Flags.ZF : flags);
    }

    static void movToSreg(Cpu c, Insn i) {
        int seg = i.reg & 7;
        if (seg == SystemState.CS || seg > SystemState.GS) {
            throw c.fault(CpuFault.UD);
        }
        Descriptors.loadData(c, seg, (int) c.readRm(i, 2));
        if (seg == SystemState.SS) {
            c.sys.interruptShadowRip = i.next;
        }
    }

    /** LSS, LFS, LGS: offset then selector from memory; the segment is loaded (with its checks) first. */
    static void loadFarPointer(Cpu c, Insn i) {
        long ea = c.ea(i);
        long offset = c.mem.read(ea, i.opSize);
        int selector = c.mem.read16(ea + i.opSize);
        Descriptors.loadData(c, i.sub, selector);
        c.setReg(i.reg, i.opSize, offset);
    }

    static void movFromSreg(Cpu c, Insn i) {
        int seg = i.reg & 7;
        if (seg > SystemState.GS) {
            throw c.fault(CpuFault.UD);
        }
        int selector = c.sys.selector[seg];
        if (i.rmIsReg) {
            c.setReg(i.rm, i.opSize == 2 ? 2 : i.opSize, selector);
        } else {
            c.mem.write16(c.ea(i), selector);
        }
    }

    static void pushSreg(Cpu c, Insn i) {
        Stack.push(c, i.opSize, c.sys.selector[i.sub]);
    }

    static void popSreg(Cpu c, Insn i) {
        long v = c.mem.read(c.stackAddress(0), i.opSize);
        Descriptors.loadData(c, i.sub, (int) v & 0xFFFF);
        c.adjustStack(i.opSize);
    }
}
