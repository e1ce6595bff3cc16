package dev.hako.kvm;

import dev.hako.core.accel.Accelerator;
import dev.hako.core.accel.VirtualMachine;
import dev.hako.core.memory.GuestMemory;
import dev.hako.core.time.VirtualClock;
import dev.hako.kvm.abi.KvmConstants;
import dev.hako.kvm.abi.KvmIoctls;
import dev.hako.sys.Fcntl;
import dev.hako.sys.Ioctl;
import dev.hako.sys.Signals;

/**
 * The host's KVM as an accelerator. Interrupts use the split design: hako's own userspace local APIC and
 * IOAPIC ({@code UserspaceIrqChip}, the same code the soft CPU uses) decide what to deliver, and the vCPU
 * injects it with KVM_INTERRUPT, asking KVM for an interrupt window when the guest cannot take it yet. So
 * KVM's in-kernel irqchip and PIT are not created: HLT then exits to hako, and both accelerators see the
 * same interrupt controllers, which is what makes KVM an oracle for the soft CPU.
 */
public final class KvmAccelerator implements Accelerator {
    /** The signal that makes a vCPU thread's KVM_RUN return. */
    static final int KICK_SIGNAL = Signals.SIGUSR1;

    private final int kvmFd;
    private final long vcpuMmapSize;

    private KvmAccelerator(int kvmFd) {
        this.kvmFd = kvmFd;
        this.vcpuMmapSize = KvmException.check(Ioctl.call(kvmFd, KvmIoctls.GET_VCPU_MMAP_SIZE, 0),
                KvmIoctls.GET_VCPU_MMAP_SIZE);
    }

    /** Opens /dev/kvm; throws {@link KvmException} saying why if KVM is unusable here. */
    public static KvmAccelerator open() {
        KvmProbe probe = KvmProbe.host();
        if (!probe.usable()) {
            throw new KvmException(probe.reason());
        }
        int fd = Fcntl.open(KvmProbe.DEVICE, Fcntl.O_RDWR | Fcntl.O_CLOEXEC);
        if (fd < 0) {
            throw new KvmException("open " + KvmProbe.DEVICE, -fd);
        }
        for (int cap : new int[] {KvmConstants.CAP_USER_MEMORY, KvmConstants.CAP_IMMEDIATE_EXIT,
                KvmConstants.CAP_EXT_CPUID}) {
            if (Ioctl.call(fd, KvmIoctls.CHECK_EXTENSION, cap) <= 0) {
                Fcntl.close(fd);
                throw new KvmException("this host's KVM lacks capability " + cap);
            }
        }
        Signals.installEmptyHandler(KICK_SIGNAL);
        return new KvmAccelerator(fd);
    }

    @Override
    public String name() {
        return "kvm";
    }

    @Override
    public VirtualMachine createVm(GuestMemory memory, VirtualClock clock) {
        return new KvmVirtualMachine(this, memory);
    }

    int fd() {
        return kvmFd;
    }

    long vcpuMmapSize() {
        return vcpuMmapSize;
    }

    boolean hasCapability(int cap) {
        return Ioctl.call(kvmFd, KvmIoctls.CHECK_EXTENSION, cap) > 0;
    }
}
