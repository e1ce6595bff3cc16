/** The management plane: the command line (and later the REST API and web console). */
module dev.hako.mgmt {
    requires dev.hako.usermode;
    requires dev.hako.vmm;
    requires dev.hako.devices;
    requires info.picocli;
    opens dev.hako.mgmt.cli to info.picocli;
}
