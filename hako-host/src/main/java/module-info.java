/** A host of many VMs: their definitions, their state directory, their machines and consoles. */
module dev.hako.host {
    requires transitive dev.hako.vmm;
    requires transitive dev.hako.devices;
    requires transitive com.fasterxml.jackson.databind;
    exports dev.hako.host;
    opens dev.hako.host to com.fasterxml.jackson.databind;
}
