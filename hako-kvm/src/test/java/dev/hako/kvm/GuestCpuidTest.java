package dev.hako.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.kvm.abi.KvmLayouts;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * What a KVM vCPU's CPUID keeps of leaf 7, on an entry shaped as KVM_GET_SUPPORTED_CPUID gives it (so it runs
 * without /dev/kvm): the host's speculation controls pass, its instruction-set extensions do not.
 */
class GuestCpuidTest {
    private static MemorySegment entry(int function, int subleaf, int ebx, int ecx, int edx) {
        MemorySegment e = Arena.ofAuto().allocate(KvmLayouts.CPUID_ENTRY);
        e.set(ValueLayout.JAVA_INT, KvmLayouts.CPUID_FUNCTION, function);
        e.set(ValueLayout.JAVA_INT, KvmLayouts.CPUID_INDEX, subleaf);
        e.set(ValueLayout.JAVA_INT, KvmLayouts.CPUID_EBX, ebx);
        e.set(ValueLayout.JAVA_INT, KvmLayouts.CPUID_ECX, ecx);
        e.set(ValueLayout.JAVA_INT, KvmLayouts.CPUID_EDX, edx);
        return e;
    }

    private static int edx(MemorySegment e) {
        return e.get(ValueLayout.JAVA_INT, KvmLayouts.CPUID_EDX);
    }

    @Test
    void leaf7KeepsTheHostsSpeculationControlsAndHidesItsExtensions() {
        // A host's leaf 7: AVX2 (EBX 5), BMI2 (EBX 8), VAES (ECX 9); EDX with AVX512_4VNNIW (2), MD_CLEAR (10),
        // SERIALIZE (14), IBRS/IBPB (26), STIBP (27), ARCH_CAPABILITIES (29), SSBD (31).
        int hostEdx = (1 << 2) | (1 << 10) | (1 << 14) | (1 << 26) | (1 << 27) | (1 << 29) | (1 << 31);
        MemorySegment subleaf0 = entry(7, 0, (1 << 5) | (1 << 8), 1 << 9, hostEdx);
        GuestCpuid.filter(subleaf0, 7, 0);
        assertThat(subleaf0.get(ValueLayout.JAVA_INT, KvmLayouts.CPUID_EBX)).isZero();
        assertThat(subleaf0.get(ValueLayout.JAVA_INT, KvmLayouts.CPUID_ECX)).isZero();
        assertThat(edx(subleaf0)).isEqualTo((1 << 10) | (1 << 26) | (1 << 27) | (1 << 29) | (1 << 31));

        MemorySegment subleaf2 = entry(7, 2, 0, 0, (1 << 4) | (1 << 0));
        GuestCpuid.filter(subleaf2, 7, 0);
        assertThat(edx(subleaf2)).as("BHI_CTRL kept, PSFD (0) hidden").isEqualTo(1 << 4);

        MemorySegment subleaf1 = entry(7, 1, 0, 0, 1 << 4);
        GuestCpuid.filter(subleaf1, 7, 0);
        assertThat(edx(subleaf1)).isZero();
    }
}
