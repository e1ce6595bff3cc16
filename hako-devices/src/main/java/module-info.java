/** Emulated devices: legacy PC peripherals, interrupt controllers, and the backend interfaces they use. */
module dev.hako.devices {
    requires transitive dev.hako.core;
    exports dev.hako.devices.backend;
    exports dev.hako.devices.legacy;
    exports dev.hako.devices.irqchip;
    exports dev.hako.devices.pci;
    exports dev.hako.devices.virtio;
    exports dev.hako.devices.virtio.blk;
    exports dev.hako.devices.virtio.rng;
    exports dev.hako.devices.virtio.console;
    exports dev.hako.devices.virtio.balloon;
    exports dev.hako.devices.virtio.vsock;
    exports dev.hako.devices.virtio.net;
}
