package dev.hako.kvm.abi;

import java.lang.foreign.MemoryLayout;

/**
 * The KVM ioctl request numbers, computed as {@code <asm-generic/ioctl.h>} does: direction, argument size
 * (from the struct layouts), the KVM type 0xAE and the command number.
 */
public final class KvmIoctls {
    private static final int KVMIO = 0xAE;
    private static final int NONE = 0, WRITE = 1, READ = 2;

    private KvmIoctls() {}

    // on /dev/kvm
    public static final long GET_API_VERSION = io(0x00);
    public static final long CREATE_VM = io(0x01);
    public static final long CHECK_EXTENSION = io(0x03);
    public static final long GET_VCPU_MMAP_SIZE = io(0x04);
    public static final long GET_SUPPORTED_CPUID = iowr(0x05, KvmLayouts.CPUID_HEADER);
    // on a VM
    public static final long CREATE_VCPU = io(0x41);
    public static final long SET_USER_MEMORY_REGION = iow(0x46, KvmLayouts.USERSPACE_MEMORY_REGION);
    public static final long SET_TSS_ADDR = io(0x47);
    public static final long ENABLE_CAP = iow(0xA3, KvmLayouts.ENABLE_CAP);
    // on a vCPU
    public static final long RUN = io(0x80);
    public static final long GET_REGS = ior(0x81, KvmLayouts.REGS);
    public static final long SET_REGS = iow(0x82, KvmLayouts.REGS);
    public static final long GET_SREGS = ior(0x83, KvmLayouts.SREGS);
    public static final long SET_SREGS = iow(0x84, KvmLayouts.SREGS);
    public static final long INTERRUPT = iow(0x86, KvmLayouts.INTERRUPT);
    public static final long GET_MSRS = iowr(0x88, KvmLayouts.MSRS_HEADER);
    public static final long SET_MSRS = iow(0x89, KvmLayouts.MSRS_HEADER);
    public static final long GET_FPU = ior(0x8C, KvmLayouts.FPU);
    public static final long SET_FPU = iow(0x8D, KvmLayouts.FPU);
    public static final long SET_CPUID2 = iow(0x90, KvmLayouts.CPUID_HEADER);

    private static long ioc(int direction, int nr, long size) {
        return ((long) direction << 30) | (size << 16) | ((long) KVMIO << 8) | nr;
    }

    private static long io(int nr) {
        return ioc(NONE, nr, 0);
    }

    private static long ior(int nr, MemoryLayout argument) {
        return ioc(READ, nr, argument.byteSize());
    }

    private static long iow(int nr, MemoryLayout argument) {
        return ioc(WRITE, nr, argument.byteSize());
    }

    private static long iowr(int nr, MemoryLayout argument) {
        return ioc(READ | WRITE, nr, argument.byteSize());
    }

    /** The name of a request number, for error messages ("KVM_SET_SREGS"). */
    public static String name(long request) {
        for (var field : KvmIoctls.class.getFields()) {
            try {
                if (field.getType() == long.class && field.getLong(null) == request) {
                    return "KVM_" + field.getName();
                }
            } catch (IllegalAccessException e) {
                break;
            }
        }
        return String.format("ioctl %#x", request);
    }
}
