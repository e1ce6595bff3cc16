/** The machine around the vCPUs: kernel loaders, firmware tables and guest images. */
module dev.hako.vmm {
    requires transitive dev.hako.core;
    exports dev.hako.vmm.boot;
    exports dev.hako.vmm.firmware;
    exports dev.hako.vmm.image;
}
