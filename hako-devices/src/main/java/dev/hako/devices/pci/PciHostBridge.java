package dev.hako.devices.pci;

/**
 * Function 00:00.0: the host bridge Linux's configuration mechanism #1 probe looks for (a class 06/00 function
 * on bus 0). Red Hat's generic PCIe host bridge IDs (1b36:0008, as QEMU's gpex), no BARs, no interrupt.
 */
final class PciHostBridge implements PciFunction {
    static final int VENDOR_RED_HAT = 0x1B36, DEVICE_HOST_BRIDGE = 0x0008;

    private final PciConfigSpace config = new PciConfigSpace(VENDOR_RED_HAT, DEVICE_HOST_BRIDGE,
            PciHeader.CLASS_BRIDGE_HOST, 0, VENDOR_RED_HAT, 0x1100, 0);

    @Override
    public PciConfigSpace config() {
        return config;
    }

    @Override
    public PciBar bar(int index) {
        return null;
    }
}
