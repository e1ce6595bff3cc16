package dev.hako.vmm.firmware;

/**
 * Where the PCI host bridge decodes, as the DSDT's PCI0 _CRS and the MCFG table describe it and the machine's
 * resource allocator places BARs: the ECAM window of buses 0..{@code lastBus}, the I/O window BARs are placed in,
 * and the 32- and 64-bit memory windows. Windows are inclusive ranges. {@code slots} is how many device slots
 * the _PRT routes (INTx pins of slots 1..slots-1).
 */
public record PciHostSpec(long ecamBase, int lastBus, int ioStart, int ioEnd, long mmio32Start, long mmio32End,
                          long mmio64Start, long mmio64End, int slots) {
    /** Above 3 GiB of RAM and below the I/O APIC: 512 MiB of 32-bit BAR space, then ECAM for bus 0. */
    public static final long MMIO32_START = 0xC000_0000L, MMIO32_END = 0xDFFF_FFFFL, ECAM_BASE = 0xE000_0000L;
    /** 64 GiB at 64 GiB: inside the 40-bit physical address width the CPUID advertises. */
    public static final long MMIO64_START = 0x10_0000_0000L, MMIO64_END = 0x1F_FFFF_FFFFL;
    public static final int IO_START = 0xC000, IO_END = 0xFFFF;

    public PciHostSpec {
        if (lastBus != 0 || ioStart > ioEnd || mmio32Start > mmio32End || mmio64Start > mmio64End || slots > 32) {
            throw new IllegalArgumentException("PCI host layout " + this);
        }
    }

    public static PciHostSpec standard() {
        return new PciHostSpec(ECAM_BASE, 0, IO_START, IO_END, MMIO32_START, MMIO32_END, MMIO64_START, MMIO64_END,
                32);
    }

    /** The ECAM window's size: 1 MiB per bus. */
    public long ecamSize() {
        return (lastBus + 1L) << 20;
    }
}
