package dev.hako.vmm.firmware;

/**
 * The platform the ACPI tables describe, shared with the devices that implement it: vCPU count (local APIC IDs
 * 0..n-1), the IOAPIC, the ACPI PM register block ports (PM1a event, PM1a control, PM timer), the SCI line, the
 * reset register, the SLP_TYP value the DSDT's _S5 object tells the OS to write for soft-off, the PCI host
 * bridge's windows (null for a machine without PCI) and the pvpanic device's I/O port (0 for none).
 */
public record AcpiSpec(int vcpus, long ioapicAddress, int ioapicId, long localApicAddress,
                       int pm1aEventPort, int pm1aControlPort, int pmTimerPort, int sciIrq,
                       int resetPort, int resetValue, int s5SleepType, PciHostSpec pci, int pvpanicPort) {
    public static final long IOAPIC_ADDRESS = 0xFEC0_0000L;
    public static final long LOCAL_APIC_ADDRESS = 0xFEE0_0000L;
    /** The PIIX4 PM block addresses QEMU uses, so the guest sees familiar values. */
    public static final int PM_BASE = 0x600;
    public static final int PM1_EVT_LEN = 4, PM1_CNT_LEN = 2, PM_TMR_LEN = 4;
    /** PCI reset control register (Intel PIIX/ICH "RST_CNT"); 0x06 asks for a hard reset. */
    public static final int RESET_PORT = 0xCF9, RESET_VALUE = 0x06;
    public static final int SCI_IRQ = 9;
    public static final int S5_SLEEP_TYPE = 5;
    /** QEMU's default port for its ISA pvpanic device. */
    public static final int PVPANIC_PORT = 0x505;

    public AcpiSpec {
        if (vcpus < 1 || vcpus > 255) {
            throw new IllegalArgumentException("vCPU count " + vcpus + " outside 1..255 (xAPIC IDs)");
        }
        if (s5SleepType < 0 || s5SleepType > 7) {
            throw new IllegalArgumentException("SLP_TYP is a 3-bit field, got " + s5SleepType);
        }
        if (pvpanicPort < 0 || pvpanicPort > 0xFFFF) {
            throw new IllegalArgumentException(String.format("pvpanic port %#x is not an I/O port", pvpanicPort));
        }
    }

    public static AcpiSpec standard(int vcpus) {
        return new AcpiSpec(vcpus, IOAPIC_ADDRESS, 0, LOCAL_APIC_ADDRESS,
                PM_BASE, PM_BASE + 4, PM_BASE + 8, SCI_IRQ, RESET_PORT, RESET_VALUE, S5_SLEEP_TYPE,
                PciHostSpec.standard(), PVPANIC_PORT);
    }
}
