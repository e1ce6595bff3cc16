package dev.hako.soft.exec;

import dev.hako.core.x86.CpuidFeatures;
import dev.hako.core.x86.KvmParavirt;
import dev.hako.core.x86.SpeculationControl;

/**
 * What CPUID tells the guest: an honest x86-64 baseline of what the soft CPU implements (MMX, SSE2, CX16,
 * POPCNT, LZCNT; no SSE3+, no AVX, no XSAVE), so that glibc and the kernel choose code paths the soft CPU runs.
 * Leaves are data: {@code {leaf, subleaf, eax, ebx, ecx, edx}} rows; a missing leaf reads as zeros.
 *
 * <p>The hypervisor leaves carry KVM's signature with one paravirtual feature, steal time (the MSR is in
 * {@link Msrs}), so a Linux guest shows the time the CPU scheduler denied it; no kvmclock, PV EOI or other
 * feature the soft CPU does not implement.
 */
public final class CpuidModel {
    private static final long MAX_BASIC = 0x16, MAX_EXTENDED = 0x80000008L, MAX_HYPERVISOR = 0x40000010L;
    /** The TSC, the crystal and the APIC timer all run at 1 GHz of guest time: no calibration needed. */
    private static final long TSC_HZ = SystemOps.TSC_HZ;
    private static final int EDX1 = CpuidFeatures.LEAF1_EDX;
    private static final int ECX1 = CpuidFeatures.LEAF1_ECX;
    private static final int EDX_EXT1 = CpuidFeatures.EXT1_EDX;
    private static final int ECX_EXT1 = CpuidFeatures.EXT1_ECX;

    private static final long[][] LEAVES = {
        {0x0, 0, MAX_BASIC, ascii("Genu"), ascii("ntel"), ascii("ineI")},
        {0x1, 0, 0x000006F1, 0x00010800, ECX1, EDX1},
        {0x2, 0, 0x00FF0001, 0, 0, 0}, // descriptor 0xFF: read the caches from leaf 4
        // Leaf 4: L1d 32 KiB, L1i 32 KiB, L2 1 MiB, L3 8 MiB; 64-byte lines.
        {0x4, 0, 0x00000121, (7L << 22) | 63, 63, 0},
        {0x4, 1, 0x00000122, (7L << 22) | 63, 63, 0},
        {0x4, 2, 0x00000143, (15L << 22) | 63, 1023, 0},
        {0x4, 3, 0x00000163, (15L << 22) | 63, 8191, 6},
        // Leaf 7: IA32_TSC_ADJUST exists. With the invariant TSC of 0x80000007 below, Linux trusts the
        // TSC without a clocksource watchdog, which under emulation would compare it with lost timer ticks.
        // EDX: the speculation-control MSRs, whose IA32_ARCH_CAPABILITIES says this CPU does not speculate.
        // EAX: the highest subleaf, 2, whose EDX offers the BHI control.
        {0x7, 0, 2, 1 << 1, 0, SpeculationControl.CPUID7_EDX_SPEC_CTRL | SpeculationControl.CPUID7_EDX_ARCH_CAPABILITIES},
        {0x7, 1, 0, 0, 0, 0},
        {0x7, 2, 0, 0, 0, SpeculationControl.CPUID7_2_EDX_BHI_CTRL},
        // Leaf 0x15: TSC = crystal (ECX Hz) * EBX / EAX; leaf 0x16: base, max and bus MHz.
        {0x15, 0, 1, 1, TSC_HZ, 0},
        {0x16, 0, TSC_HZ / 1_000_000, TSC_HZ / 1_000_000, 100, 0},
        {KvmParavirt.CPUID_SIGNATURE, 0, MAX_HYPERVISOR, KvmParavirt.SIGNATURE_EBX, KvmParavirt.SIGNATURE_ECX,
            KvmParavirt.SIGNATURE_EDX},
        {KvmParavirt.CPUID_FEATURES, 0, 1 << KvmParavirt.KVM_FEATURE_STEAL_TIME, 0, 0, 0},
        // The hypervisor timing leaf: TSC and local APIC bus frequencies in kHz.
        {0x40000010L, 0, TSC_HZ / 1000, TSC_HZ / 1000, 0, 0},
        {0x80000000L, 0, MAX_EXTENDED, ascii("Genu"), ascii("ntel"), ascii("ineI")},
        {0x80000001L, 0, 0, 0, ECX_EXT1, EDX_EXT1},
        {0x80000002L, 0, ascii("hako"), ascii(" sof"), ascii("t x8"), ascii("6-64")},
        {0x80000003L, 0, ascii(" CPU"), 0, 0, 0},
        {0x80000004L, 0, 0, 0, 0, 0},
        {0x80000006L, 0, 0, 0, 0x04008040L, 0},
        {0x80000007L, 0, 0, 0, 0, 1 << 8}, // invariant TSC
        {0x80000008L, 0, 0x00003028, 0, 0, 0},
    };

    private static final long[] ZEROS = new long[6];

    private static long ascii(String four) {
        long v = 0;
        for (int i = 3; i >= 0; i--) {
            v = (v << 8) | four.charAt(i);
        }
        return v;
    }

    /** Sets EAX, EBX, ECX, EDX of {@code cpu} for leaf EAX, subleaf ECX. */
    public void execute(Cpu cpu) {
        long leaf = cpu.r[Cpu.RAX] & 0xFFFFFFFFL;
        long subleaf = cpu.r[Cpu.RCX] & 0xFFFFFFFFL;
        boolean indexed = leaf == 4 || leaf == 7;
        long[] row = null;
        for (long[] candidate : LEAVES) {
            if (candidate[0] == leaf && (!indexed || candidate[1] == subleaf)) {
                row = candidate;
                break;
            }
        }
        long[] out = row == null ? ZEROS : row;
        cpu.r[Cpu.RAX] = out[2] & 0xFFFFFFFFL;
        cpu.r[Cpu.RBX] = out[3] & 0xFFFFFFFFL;
        if (leaf == 1) {
            cpu.r[Cpu.RBX] |= (long) cpu.index << 24; // initial APIC ID
        }
        cpu.r[Cpu.RCX] = out[4] & 0xFFFFFFFFL;
        cpu.r[Cpu.RDX] = out[5] & 0xFFFFFFFFL;
    }
}
