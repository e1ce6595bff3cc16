package dev.hako.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.kvm.abi.KvmIoctls;
import dev.hako.kvm.abi.KvmLayouts;
import org.junit.jupiter.api.Test;

/**
 * The computed ioctl numbers and the layouts' sizes and offsets against the values a C compiler gives for
 * {@code <linux/kvm.h>} on x86-64 (printed by a small C program with offsetof and the KVM_* macros).
 */
class KvmAbiTest {
    @Test
    void ioctlNumbersMatchKvmH() {
        assertThat(KvmIoctls.GET_API_VERSION).isEqualTo(0xAE00L);
        assertThat(KvmIoctls.CREATE_VM).isEqualTo(0xAE01L);
        assertThat(KvmIoctls.GET_SUPPORTED_CPUID).isEqualTo(0xC008AE05L);
        assertThat(KvmIoctls.SET_USER_MEMORY_REGION).isEqualTo(0x4020AE46L);
        assertThat(KvmIoctls.CREATE_VCPU).isEqualTo(0xAE41L);
        assertThat(KvmIoctls.RUN).isEqualTo(0xAE80L);
        assertThat(KvmIoctls.GET_REGS).isEqualTo(0x8090AE81L);
        assertThat(KvmIoctls.SET_REGS).isEqualTo(0x4090AE82L);
        assertThat(KvmIoctls.GET_SREGS).isEqualTo(0x8138AE83L);
        assertThat(KvmIoctls.SET_SREGS).isEqualTo(0x4138AE84L);
        assertThat(KvmIoctls.INTERRUPT).isEqualTo(0x4004AE86L);
        assertThat(KvmIoctls.GET_MSRS).isEqualTo(0xC008AE88L);
        assertThat(KvmIoctls.SET_MSRS).isEqualTo(0x4008AE89L);
        assertThat(KvmIoctls.GET_FPU).isEqualTo(0x81A0AE8CL);
        assertThat(KvmIoctls.SET_FPU).isEqualTo(0x41A0AE8DL);
        assertThat(KvmIoctls.SET_CPUID2).isEqualTo(0x4008AE90L);
        assertThat(KvmIoctls.ENABLE_CAP).isEqualTo(0x4068AEA3L);
        assertThat(KvmIoctls.name(0x4138AE84L)).isEqualTo("KVM_SET_SREGS");
    }

    @Test
    void layoutsMatchKvmH() {
        assertThat(KvmLayouts.SREGS.byteSize()).isEqualTo(0x138);
        assertThat(KvmLayouts.SREGS_CR0).isEqualTo(0xE0);
        assertThat(KvmLayouts.SREGS_EFER).isEqualTo(0x108);
        assertThat(KvmLayouts.SREGS_INTERRUPT_BITMAP).isEqualTo(0x118);
        assertThat(KvmLayouts.FPU_FCW).isEqualTo(0x80);
        assertThat(KvmLayouts.FPU_LAST_IP).isEqualTo(0x88);
        assertThat(KvmLayouts.FPU_XMM).isEqualTo(0x98);
        assertThat(KvmLayouts.FPU_MXCSR).isEqualTo(0x198);
        assertThat(KvmLayouts.CPUID_ENTRY.byteSize()).isEqualTo(0x28);
        assertThat(KvmLayouts.RUN_EXIT_REASON).isEqualTo(0x8);
        assertThat(KvmLayouts.RUN_READY_FOR_INTERRUPT_INJECTION).isEqualTo(0xC);
        assertThat(KvmLayouts.RUN_IF_FLAG).isEqualTo(0xD);
        assertThat(KvmLayouts.IO_PORT).isEqualTo(0x22);
        assertThat(KvmLayouts.IO_DATA_OFFSET).isEqualTo(0x28);
        assertThat(KvmLayouts.MMIO_LEN).isEqualTo(0x30);
        assertThat(KvmLayouts.MMIO_IS_WRITE).isEqualTo(0x34);
        assertThat(KvmLayouts.FAIL_ENTRY_CPU).isEqualTo(0x28);
        assertThat(KvmLayouts.MSR_INDEX).isEqualTo(0x2C);
        assertThat(KvmLayouts.MSR_DATA).isEqualTo(0x30);
    }
}
