/** The machine around the vCPUs: kernel loaders, firmware tables and guest images. */
module dev.hako.vmm {
    requires transitive dev.hako.core;
    requires dev.hako.sys;
    requires dev.hako.soft;
    requires dev.hako.kvm;
    requires dev.hako.devices;
    requires com.fasterxml.jackson.databind;
    requires java.net.http;
    requires java.management;
    exports dev.hako.vmm.boot;
    exports dev.hako.vmm.debug;
    exports dev.hako.vmm.firmware;
    exports dev.hako.vmm.image;
    exports dev.hako.vmm.image.disk;
    exports dev.hako.vmm.machine;
    exports dev.hako.vmm.host;
    exports dev.hako.vmm.net;
    exports dev.hako.vmm.sched;
    exports dev.hako.vmm.snapshot;
}
