package dev.hako.soft.exec;

import dev.hako.core.x86.KvmParavirt;
import dev.hako.core.x86.SpeculationControl;
import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.ControlRegisters;

/**
 * RDMSR and WRMSR of the MSRs Linux touches (SDM vol. 4): EFER, the SYSCALL MSRs, FS/GS/KERNEL_GS base,
 * TSC, TSC_AUX, APIC base, PAT, MISC_ENABLE, MTRRs (which read back what was written), SYSENTER, the
 * speculation controls ({@link SpeculationControl}: SPEC_CTRL keeps its bits, which change nothing here; PRED_CMD
 * is write-only; ARCH_CAPABILITIES is read-only), and KVM's
 * steal-time MSR (reserved bits 5:1 set raise #GP, as in KVM; the struct is written by the vCPU's thread when it
 * resumes after a throttle, see {@code SoftVirtualCpu#addStealTime}). MSRs the
 * local interrupt controller owns go there; any other index raises #GP(0), as on hardware without that MSR.
 */
final class Msrs {
    static final int IA32_TSC_ADJUST = 0x3B;
    static final int IA32_TSC = 0x10, IA32_APIC_BASE = 0x1B, IA32_MTRRCAP = 0xFE, IA32_SYSENTER_CS = 0x174,
            IA32_SYSENTER_ESP = 0x175, IA32_SYSENTER_EIP = 0x176, IA32_MCG_CAP = 0x179, IA32_MCG_STATUS = 0x17A,
            IA32_MISC_ENABLE = 0x1A0, IA32_PAT = 0x277, IA32_MTRR_DEF_TYPE = 0x2FF, IA32_EFER = 0xC0000080,
            IA32_STAR = 0xC0000081, IA32_LSTAR = 0xC0000082, IA32_CSTAR = 0xC0000083, IA32_FMASK = 0xC0000084,
            IA32_FS_BASE = 0xC0000100, IA32_GS_BASE = 0xC0000101, IA32_KERNEL_GS_BASE = 0xC0000102,
            IA32_TSC_AUX = 0xC0000103, IA32_BIOS_SIGN_ID = 0x8B, IA32_PLATFORM_ID = 0x17;
    /** Fixed-range MTRR indices, in the order kept in {@link SystemState#mtrrFixed}. */
    private static final int[] FIXED_MTRRS = {0x250, 0x258, 0x259, 0x268, 0x269, 0x26A, 0x26B, 0x26C, 0x26D, 0x26E,
        0x26F};
    /** MTRRcap: 8 variable ranges, fixed ranges, write-combining. */
    private static final long MTRRCAP = 8 | (1 << 8) | (1 << 10);
    private static final long EFER_WRITABLE = ControlRegisters.EFER_SCE | ControlRegisters.EFER_LME
            | ControlRegisters.EFER_NXE;

    private Msrs() {}

    static long read(Cpu c, int index) {
        SystemState s = c.sys;
        switch (index) {
            case IA32_TSC: return c.tsc();
            case IA32_TSC_ADJUST: return s.tscAdjust;
            case IA32_APIC_BASE: return s.apicBase | (c.index == 0 ? 1 << 8 : 0);
            case IA32_MTRRCAP: return MTRRCAP;
            case IA32_SYSENTER_CS: return s.sysenterCs;
            case IA32_SYSENTER_ESP: return s.sysenterEsp;
            case IA32_SYSENTER_EIP: return s.sysenterEip;
            case IA32_MCG_CAP, IA32_MCG_STATUS, IA32_BIOS_SIGN_ID, IA32_PLATFORM_ID: return 0;
            case IA32_MISC_ENABLE: return s.miscEnable;
            case IA32_PAT: return s.pat;
            case IA32_MTRR_DEF_TYPE: return s.mtrrDefType;
            case IA32_EFER: return s.cr.efer;
            case IA32_STAR: return s.star;
            case IA32_LSTAR: return s.lstar;
            case IA32_CSTAR: return s.cstar;
            case IA32_FMASK: return s.sfmask;
            case IA32_FS_BASE: return c.fsBase;
            case IA32_GS_BASE: return c.gsBase;
            case IA32_KERNEL_GS_BASE: return c.kernelGsBase;
            case IA32_TSC_AUX: return s.tscAux;
            case KvmParavirt.MSR_KVM_STEAL_TIME: return s.stealTimeMsr;
            case SpeculationControl.IA32_SPEC_CTRL: return s.specCtrl;
            case SpeculationControl.IA32_ARCH_CAPABILITIES: return SpeculationControl.NOT_SPECULATIVE;
            default: break;
        }
        if (index >= 0x200 && index < 0x210) {
            return s.mtrrVariable[index - 0x200];
        }
        for (int k = 0; k < FIXED_MTRRS.length; k++) {
            if (FIXED_MTRRS[k] == index) {
                return s.mtrrFixed[k];
            }
        }
        long[] out = c.msrScratch;
        if (c.interrupts.readMsr(index, out)) {
            return out[0];
        }
        throw c.fault(CpuFault.GP, 0);
    }

    static void write(Cpu c, int index, long value) {
        SystemState s = c.sys;
        switch (index) {
            case IA32_TSC -> {
                long delta = value - c.tsc();
                s.tscOffset += delta;
                s.tscAdjust += delta;
            }
            case IA32_TSC_ADJUST -> {
                s.tscOffset += value - s.tscAdjust;
                s.tscAdjust = value;
            }
            case IA32_APIC_BASE -> s.apicBase = value & ~(1L << 8);
            case IA32_SYSENTER_CS -> s.sysenterCs = value;
            case IA32_SYSENTER_ESP -> s.sysenterEsp = value;
            case IA32_SYSENTER_EIP -> s.sysenterEip = value;
            case IA32_MCG_STATUS, IA32_BIOS_SIGN_ID -> { }
            case IA32_MISC_ENABLE -> s.miscEnable = value;
            case IA32_PAT -> s.pat = value;
            case IA32_MTRR_DEF_TYPE -> s.mtrrDefType = value;
            case IA32_EFER -> {
                requireWithin(c, value, EFER_WRITABLE | ControlRegisters.EFER_LMA);
                long lma = s.cr.efer & ControlRegisters.EFER_LMA;
                s.cr.efer = (value & EFER_WRITABLE) | lma;
                c.mem.flush();
                c.updateMode();
            }
            case IA32_STAR -> s.star = value;
            case IA32_LSTAR -> s.lstar = requireCanonical(c, value);
            case IA32_CSTAR -> s.cstar = requireCanonical(c, value);
            case IA32_FMASK -> s.sfmask = value & 0xFFFFFFFFL;
            case IA32_FS_BASE -> c.fsBase = requireCanonical(c, value);
            case IA32_GS_BASE -> c.gsBase = requireCanonical(c, value);
            case IA32_KERNEL_GS_BASE -> c.kernelGsBase = requireCanonical(c, value);
            case IA32_TSC_AUX -> s.tscAux = value & 0xFFFFFFFFL;
            case KvmParavirt.MSR_KVM_STEAL_TIME -> {
                s.stealTimeMsr = requireWithin(c, value, ~KvmParavirt.STEAL_TIME_RESERVED);
            }
            case SpeculationControl.IA32_SPEC_CTRL -> {
                s.specCtrl = requireWithin(c, value, SpeculationControl.SPEC_CTRL_WRITABLE);
            }
            case SpeculationControl.IA32_PRED_CMD -> requireWithin(c, value, SpeculationControl.PRED_CMD_IBPB);
            default -> writeOther(c, index, value);
        }
    }

    private static void writeOther(Cpu c, int index, long value) {
        if (index >= 0x200 && index < 0x210) {
            c.sys.mtrrVariable[index - 0x200] = value;
            return;
        }
        for (int k = 0; k < FIXED_MTRRS.length; k++) {
            if (FIXED_MTRRS[k] == index) {
                c.sys.mtrrFixed[k] = value;
                return;
            }
        }
        if (!c.interrupts.writeMsr(index, value)) {
            throw c.fault(CpuFault.GP, 0);
        }
    }

    /** {@code value}, if it sets no bit outside {@code allowed}: a reserved bit set raises #GP(0). */
    private static long requireWithin(Cpu c, long value, long allowed) {
        if ((value & ~allowed) != 0) {
            throw c.fault(CpuFault.GP, 0);
        }
        return value;
    }

    private static long requireCanonical(Cpu c, long value) {
        if ((value << 16 >> 16) != value) {
            throw c.fault(CpuFault.GP, 0);
        }
        return value;
    }
}
