package dev.hako.devices.pci;

/**
 * Names from the PCI Local Bus Specification 3.0 §6.2 ("Configuration Space Functions") and §6.7/§6.8
 * (capabilities, MSI-X) for the type 0 configuration header, defined once for the PCI layer and the devices.
 */
public final class PciHeader {
    public static final int VENDOR_ID = 0x00, DEVICE_ID = 0x02, COMMAND = 0x04, STATUS = 0x06, REVISION_ID = 0x08,
            CLASS_PROG = 0x09, CLASS_DEVICE = 0x0A, HEADER_TYPE = 0x0E, BAR0 = 0x10, SUBSYSTEM_VENDOR_ID = 0x2C,
            SUBSYSTEM_ID = 0x2E, ROM_ADDRESS = 0x30, CAPABILITIES_POINTER = 0x34, INTERRUPT_LINE = 0x3C,
            INTERRUPT_PIN = 0x3D;
    /** Where capabilities may start: right after the 64-byte header. */
    public static final int FIRST_CAPABILITY = 0x40;

    public static final int COMMAND_IO = 1 << 0, COMMAND_MEMORY = 1 << 1, COMMAND_MASTER = 1 << 2,
            COMMAND_SERR = 1 << 8, COMMAND_INTX_DISABLE = 1 << 10;
    public static final int STATUS_INTERRUPT = 1 << 3, STATUS_CAPABILITIES = 1 << 4;

    public static final int BAR_COUNT = 6;
    public static final int BAR_IO = 0x1, BAR_MEMORY_64 = 0x4, BAR_PREFETCHABLE = 0x8;

    public static final int CAP_ID_MSIX = 0x11, CAP_ID_VENDOR = 0x09;

    /** MSI-X capability (§6.8.2): message control, table offset/BIR, PBA offset/BIR. */
    public static final int MSIX_CONTROL = 2, MSIX_TABLE = 4, MSIX_PBA = 8, MSIX_CAP_LENGTH = 12;
    public static final int MSIX_CONTROL_ENABLE = 1 << 15, MSIX_CONTROL_FUNCTION_MASK = 1 << 14;

    /** Interrupt pin values: INTA# is 1 ... INTD# is 4. */
    public static final int PIN_INTA = 1;

    public static final int CLASS_BRIDGE_HOST = 0x060000;

    private PciHeader() {
    }

    /** The configuration offset of BAR {@code index}. */
    public static int bar(int index) {
        return BAR0 + 4 * index;
    }
}
