package dev.hako.core.x86;

/**
 * KVM's paravirtual interface as far as hako offers it (Linux's Documentation/virt/kvm/x86/cpuid.rst and
 * msr.rst): the CPUID signature leaf that makes a Linux guest look for KVM features, the feature leaf with only
 * steal time in it, and the steal-time MSR with its 64-byte {@code struct kvm_steal_time} in guest RAM.
 */
public final class KvmParavirt {
    /** EBX, ECX, EDX spell "KVMKVMKVM\0\0\0"; EAX is the highest hypervisor leaf. */
    public static final long CPUID_SIGNATURE = 0x40000000L;
    /** EAX: the paravirtual features (KVM_FEATURE_* bit numbers). */
    public static final long CPUID_FEATURES = 0x40000001L;
    public static final int KVM_FEATURE_STEAL_TIME = 5;
    /** "KVMK", "VMKV", "M\0\0\0" as the little-endian words of EBX, ECX, EDX. */
    public static final int SIGNATURE_EBX = 0x4B4D564B, SIGNATURE_ECX = 0x564B4D56, SIGNATURE_EDX = 0x4D;

    /** Bits 63:6 the guest-physical address of the 64-byte aligned struct, bit 0 enable, bits 5:1 reserved. */
    public static final int MSR_KVM_STEAL_TIME = 0x4B564D03;
    public static final long KVM_MSR_ENABLED = 1, STEAL_TIME_RESERVED = 0x3E, STEAL_TIME_ADDRESS = ~0x3FL;

    /** struct kvm_steal_time: u64 steal (ns), u32 version (odd while updated), u32 flags, u8 preempted. */
    public static final int STEAL_OFFSET = 0, VERSION_OFFSET = 8, FLAGS_OFFSET = 12, PREEMPTED_OFFSET = 16,
            STEAL_TIME_SIZE = 64;

    private KvmParavirt() {}
}
