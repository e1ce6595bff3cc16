package dev.hako.kvm;

import dev.hako.core.x86.CpuidFeatures;
import dev.hako.core.x86.SpeculationControl;
import dev.hako.kvm.abi.KvmIoctls;
import dev.hako.kvm.abi.KvmLayouts;
import dev.hako.sys.Ioctl;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The CPUID a KVM vCPU shows: what this host's KVM supports (KVM_GET_SUPPORTED_CPUID), with the feature
 * leaves masked down to what hako advertises ({@link CpuidFeatures}), so a guest makes the same choices on
 * KVM as on the soft CPU. Leaf 7's extended features and leaf 0xD (XSAVE) are hidden; leaf 7 keeps the host's
 * speculation controls ({@link SpeculationControl}), which KVM emulates: without IA32_ARCH_CAPABILITIES a Linux
 * guest turns on page-table isolation and the rest whatever the hardware.
 */
final class GuestCpuid {
    private static final int MAX_ENTRIES = 256;
    private static final int ERRNO_E2BIG = 7;

    private GuestCpuid() {}

    /** KVM's supported CPUID as a kvm_cpuid2 (header and entries) in global memory. */
    static MemorySegment supported(int kvmFd) {
        MemorySegment cpuid = Arena.global().allocate(
                KvmLayouts.CPUID_HEADER.byteSize() + MAX_ENTRIES * KvmLayouts.CPUID_ENTRY.byteSize(), 8);
        cpuid.set(ValueLayout.JAVA_INT, 0, MAX_ENTRIES);
        long r = Ioctl.call(kvmFd, KvmIoctls.GET_SUPPORTED_CPUID, cpuid);
        if (r == -ERRNO_E2BIG) {
            throw new KvmException("KVM_GET_SUPPORTED_CPUID has more than " + MAX_ENTRIES + " entries");
        }
        KvmException.check(r, KvmIoctls.GET_SUPPORTED_CPUID);
        return cpuid;
    }

    /** Sets vCPU {@code index}'s CPUID: the supported entries filtered, its APIC ID in leaf 1. */
    static void set(int vcpuFd, MemorySegment supported, int index) {
        int count = supported.get(ValueLayout.JAVA_INT, 0);
        long header = KvmLayouts.CPUID_HEADER.byteSize();
        long entrySize = KvmLayouts.CPUID_ENTRY.byteSize();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cpuid = arena.allocate(header + count * entrySize, 8);
            int kept = 0;
            for (int i = 0; i < count; i++) {
                MemorySegment from = supported.asSlice(header + i * entrySize, entrySize);
                int function = from.get(ValueLayout.JAVA_INT, KvmLayouts.CPUID_FUNCTION);
                if (function == 0xD) {
                    continue;
                }
                MemorySegment to = cpuid.asSlice(header + kept * entrySize, entrySize);
                to.copyFrom(from);
                filter(to, function, index);
                kept++;
            }
            cpuid.set(ValueLayout.JAVA_INT, 0, kept);
            KvmException.check(Ioctl.call(vcpuFd, KvmIoctls.SET_CPUID2, cpuid), KvmIoctls.SET_CPUID2);
        }
    }

    static void filter(MemorySegment entry, int function, int index) {
        switch (function) {
            case 0x1 -> {
                and(entry, KvmLayouts.CPUID_EDX, CpuidFeatures.LEAF1_EDX);
                and(entry, KvmLayouts.CPUID_ECX, CpuidFeatures.LEAF1_ECX);
                or(entry, KvmLayouts.CPUID_ECX, 1 << 31); // a hypervisor is present
                int ebx = entry.get(ValueLayout.JAVA_INT, KvmLayouts.CPUID_EBX);
                entry.set(ValueLayout.JAVA_INT, KvmLayouts.CPUID_EBX, (ebx & 0x00FFFFFF) | (index << 24));
            }
            case 0x7 -> {
                int subleaf = entry.get(ValueLayout.JAVA_INT, KvmLayouts.CPUID_INDEX);
                and(entry, KvmLayouts.CPUID_EBX, 0);
                and(entry, KvmLayouts.CPUID_ECX, 0);
                and(entry, KvmLayouts.CPUID_EDX, switch (subleaf) {
                    case 0 -> SpeculationControl.CPUID7_EDX_HOST_SPECULATION_CONTROLS;
                    case 2 -> SpeculationControl.CPUID7_2_EDX_BHI_CTRL;
                    default -> 0;
                });
            }
            case 0x80000001 -> {
                and(entry, KvmLayouts.CPUID_EDX, CpuidFeatures.EXT1_EDX);
                and(entry, KvmLayouts.CPUID_ECX, CpuidFeatures.EXT1_ECX);
            }
            default -> { }
        }
    }

    private static void and(MemorySegment entry, long offset, int mask) {
        entry.set(ValueLayout.JAVA_INT, offset, entry.get(ValueLayout.JAVA_INT, offset) & mask);
    }

    private static void or(MemorySegment entry, long offset, int bits) {
        entry.set(ValueLayout.JAVA_INT, offset, entry.get(ValueLayout.JAVA_INT, offset) | bits);
    }
}
