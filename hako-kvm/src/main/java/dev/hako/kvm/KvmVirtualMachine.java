package dev.hako.kvm;

import dev.hako.core.accel.IoHandler;
import dev.hako.core.accel.LocalInterrupts;
import dev.hako.core.accel.VirtualCpu;
import dev.hako.core.accel.VirtualMachine;
import dev.hako.core.memory.GuestMemory;
import dev.hako.kvm.abi.KvmConstants;
import dev.hako.kvm.abi.KvmIoctls;
import dev.hako.kvm.abi.KvmLayouts;
import dev.hako.sys.Fcntl;
import dev.hako.sys.Ioctl;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * A KVM VM whose guest-physical memory from 0 is the machine's RAM segment itself (one memory slot), so
 * KVM, the soft CPU and the devices all see the same bytes. Everything above RAM is MMIO: KVM exits to hako
 * for it and the vCPU hands it to the IoHandler.
 */
final class KvmVirtualMachine implements VirtualMachine {
    private static final long PAGE = 4096;

    private final KvmAccelerator kvm;
    private final int vmFd;
    private final List<KvmVirtualCpu> vcpus = new ArrayList<>();
    private final MemorySegment supportedCpuid;
    private boolean closed;

    KvmVirtualMachine(KvmAccelerator kvm, GuestMemory memory) {
        this.kvm = kvm;
        MemorySegment ram = memory.segment();
        if (ram.address() % PAGE != 0 || ram.byteSize() % PAGE != 0 || ram.byteSize() == 0) {
            throw new IllegalArgumentException(String.format(
                    "KVM needs page-aligned guest RAM: segment at %#x of %#x bytes", ram.address(), ram.byteSize()));
        }
        this.vmFd = (int) KvmException.check(Ioctl.call(kvm.fd(), KvmIoctls.CREATE_VM, 0), KvmIoctls.CREATE_VM);
        try {
            KvmException.check(Ioctl.call(vmFd, KvmIoctls.SET_TSS_ADDR, KvmConstants.TSS_ADDRESS),
                    KvmIoctls.SET_TSS_ADDR);
            mapRam(ram);
            enableUserspaceMsrs();
            this.supportedCpuid = GuestCpuid.supported(kvm.fd());
        } catch (RuntimeException e) {
            Fcntl.close(vmFd);
            throw e;
        }
    }

    private void mapRam(MemorySegment ram) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment region = arena.allocate(KvmLayouts.USERSPACE_MEMORY_REGION);
            region.set(ValueLayout.JAVA_INT, KvmLayouts.REGION_SLOT, 0);
            region.set(ValueLayout.JAVA_LONG, KvmLayouts.REGION_GUEST_PHYS_ADDR, 0);
            region.set(ValueLayout.JAVA_LONG, KvmLayouts.REGION_MEMORY_SIZE, ram.byteSize());
            region.set(ValueLayout.JAVA_LONG, KvmLayouts.REGION_USERSPACE_ADDR, ram.address());
            KvmException.check(Ioctl.call(vmFd, KvmIoctls.SET_USER_MEMORY_REGION, region),
                    KvmIoctls.SET_USER_MEMORY_REGION);
        }
    }

    /**
     * MSRs KVM does not know (or refuses) come to hako, so the local APIC's MSRs reach hako's local APIC;
     * whatever hako does not own either gets the #GP the guest would get anyway.
     */
    private void enableUserspaceMsrs() {
        if (!kvm.hasCapability(KvmConstants.CAP_X86_USER_SPACE_MSR)) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cap = arena.allocate(KvmLayouts.ENABLE_CAP);
            cap.set(ValueLayout.JAVA_INT, KvmLayouts.ENABLE_CAP_CAP, KvmConstants.CAP_X86_USER_SPACE_MSR);
            cap.set(ValueLayout.JAVA_LONG, KvmLayouts.ENABLE_CAP_ARGS,
                    KvmConstants.MSR_EXIT_REASON_INVAL | KvmConstants.MSR_EXIT_REASON_UNKNOWN);
            KvmException.check(Ioctl.call(vmFd, KvmIoctls.ENABLE_CAP, cap), KvmIoctls.ENABLE_CAP);
        }
    }

    @Override
    public synchronized VirtualCpu createVcpu(int index, IoHandler io, LocalInterrupts interrupts) {
        if (closed) {
            throw new IllegalStateException("VM is closed");
        }
        int vcpuFd = (int) KvmException.check(Ioctl.call(vmFd, KvmIoctls.CREATE_VCPU, index), KvmIoctls.CREATE_VCPU);
        try {
            GuestCpuid.set(vcpuFd, supportedCpuid, index);
            KvmVirtualCpu vcpu = new KvmVirtualCpu(vcpuFd, kvm.vcpuMmapSize(), index, io, interrupts);
            vcpus.add(vcpu);
            return vcpu;
        } catch (RuntimeException e) {
            Fcntl.close(vcpuFd);
            throw e;
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (KvmVirtualCpu vcpu : vcpus) {
            vcpu.close();
        }
        Fcntl.close(vmFd);
    }
}
