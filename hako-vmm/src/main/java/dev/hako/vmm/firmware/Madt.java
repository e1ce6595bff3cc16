package dev.hako.vmm.firmware;

/**
 * The Multiple APIC Description Table, "APIC" (ACPI 6.5 5.2.12): one enabled Processor Local APIC per vCPU, the
 * IOAPIC with GSI base 0, the ISA interrupt source overrides of a PC (IRQ0 is wired to GSI 2; the SCI is level
 * triggered, active high) and the LINT1 NMI of every local APIC. PCAT_COMPAT says dual 8259s are present too.
 */
public final class Madt {
    public static final int REVISION = 5;
    public static final int LOCAL_APIC_ADDRESS = 36, FLAGS = 40, ENTRIES = 44;
    public static final int FLAG_PCAT_COMPAT = 1;

    public static final int TYPE_LOCAL_APIC = 0, TYPE_IO_APIC = 1, TYPE_INTERRUPT_OVERRIDE = 2,
            TYPE_LOCAL_APIC_NMI = 4;
    public static final int LOCAL_APIC_ENABLED = 1;
    /** MPS INTI flags: polarity in bits 0-1 (01 active high), trigger mode in bits 2-3 (11 level). */
    public static final int INTI_ACTIVE_HIGH = 0b01, INTI_LEVEL = 0b11 << 2;
    /** The NMI of every processor is on LINT1. */
    public static final int ALL_PROCESSORS = 0xFF;

    private Madt() {
    }

    public static byte[] build(AcpiSpec spec) {
        AcpiTable t = new AcpiTable("APIC", REVISION, "HAKOMADT", 4096)
                .u32(LOCAL_APIC_ADDRESS, spec.localApicAddress())
                .u32(FLAGS, FLAG_PCAT_COMPAT);
        int at = ENTRIES;
        for (int cpu = 0; cpu < spec.vcpus(); cpu++) {
            t.u8(at, TYPE_LOCAL_APIC).u8(at + 1, 8).u8(at + 2, cpu).u8(at + 3, cpu).u32(at + 4, LOCAL_APIC_ENABLED);
            at += 8;
        }
        t.u8(at, TYPE_IO_APIC).u8(at + 1, 12).u8(at + 2, spec.ioapicId()).u8(at + 3, 0)
                .u32(at + 4, spec.ioapicAddress()).u32(at + 8, 0);
        at += 12;
        at = override(t, at, 0, 2, 0);
        at = override(t, at, spec.sciIrq(), spec.sciIrq(), INTI_ACTIVE_HIGH | INTI_LEVEL);
        t.u8(at, TYPE_LOCAL_APIC_NMI).u8(at + 1, 6).u8(at + 2, ALL_PROCESSORS).u16(at + 3, 0).u8(at + 5, 1);
        return t.build();
    }

    private static int override(AcpiTable t, int at, int isaIrq, int gsi, int flags) {
        t.u8(at, TYPE_INTERRUPT_OVERRIDE).u8(at + 1, 10).u8(at + 2, 0).u8(at + 3, isaIrq).u32(at + 4, gsi)
                .u16(at + 8, flags);
        return at + 10;
    }
}
