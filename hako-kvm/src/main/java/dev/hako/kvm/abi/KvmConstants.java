package dev.hako.kvm.abi;

/** Exit reasons, capabilities and flags of {@code <linux/kvm.h>} that hako uses. */
public final class KvmConstants {
    private KvmConstants() {}

    public static final int API_VERSION = 12;

    // kvm_run.exit_reason
    public static final int EXIT_UNKNOWN = 0, EXIT_EXCEPTION = 1, EXIT_IO = 2, EXIT_DEBUG = 4, EXIT_HLT = 5,
            EXIT_MMIO = 6, EXIT_IRQ_WINDOW_OPEN = 7, EXIT_SHUTDOWN = 8, EXIT_FAIL_ENTRY = 9, EXIT_INTR = 10,
            EXIT_INTERNAL_ERROR = 17, EXIT_SYSTEM_EVENT = 24, EXIT_X86_RDMSR = 29, EXIT_X86_WRMSR = 30;
    public static final int EXIT_IO_IN = 0, EXIT_IO_OUT = 1;
    // kvm_run.system_event.type
    public static final int SYSTEM_EVENT_SHUTDOWN = 1, SYSTEM_EVENT_RESET = 2, SYSTEM_EVENT_CRASH = 3;

    // KVM_CHECK_EXTENSION
    public static final int CAP_USER_MEMORY = 3, CAP_SET_TSS_ADDR = 4, CAP_EXT_CPUID = 7, CAP_IMMEDIATE_EXIT = 136,
            CAP_X86_USER_SPACE_MSR = 188;
    // KVM_CAP_X86_USER_SPACE_MSR: which failing MSR accesses come to userspace
    public static final long MSR_EXIT_REASON_INVAL = 1, MSR_EXIT_REASON_UNKNOWN = 2;

    /** Where the VMX real-mode TSS goes (three pages below the BIOS, as QEMU puts it). */
    public static final long TSS_ADDRESS = 0xFFFBD000L;
}
