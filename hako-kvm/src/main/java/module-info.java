/** The KVM accelerator: /dev/kvm through FFM downcalls (ioctl, mmap), kvm.h's structs and ioctls as data. */
module dev.hako.kvm {
    requires transitive dev.hako.core;
    requires dev.hako.sys;
    exports dev.hako.kvm;
    exports dev.hako.kvm.abi;
}
