package dev.hako.vmm.firmware;

/**
 * The PCI Express memory-mapped configuration table (PCI Firmware Specification 3.2 §4.1.2, "MCFG"): one
 * allocation entry giving the ECAM base of segment 0 and its bus range. Linux uses it only if the window is
 * also reserved in the e820 map (the machine's memory map does that).
 */
public final class Mcfg {
    public static final int REVISION = 1;
    static final int ENTRIES = 44, ENTRY_SIZE = 16;

    private Mcfg() {
    }

    public static byte[] build(PciHostSpec pci) {
        return new AcpiTable("MCFG", REVISION, "HAKOMCFG", ENTRIES + ENTRY_SIZE)
                .u64(ENTRIES, pci.ecamBase())
                .u16(ENTRIES + 8, 0)
                .u8(ENTRIES + 10, 0)
                .u8(ENTRIES + 11, pci.lastBus())
                .length(ENTRIES + ENTRY_SIZE)
                .build();
    }
}
