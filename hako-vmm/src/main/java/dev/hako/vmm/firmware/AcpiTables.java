package dev.hako.vmm.firmware;

import dev.hako.core.memory.GuestMemory;
import dev.hako.vmm.boot.BootLayout;

import java.util.List;

/**
 * Writes the ACPI tables into the BIOS area of guest memory (0xE0000 up, reserved in the e820 map): the RSDP
 * first, where a BIOS-style scan finds it, then FACS, DSDT, FADT, MADT, MCFG (with PCI), and the XSDT and RSDT
 * that list FADT, MADT and MCFG. No MP table is written: Linux takes CPUs and the IOAPIC from the MADT.
 */
public final class AcpiTables {
    /** Where each table landed; {@code rsdp} goes to boot_params.acpi_rsdp_addr or PVH rsdp_paddr. */
    public record Placement(long rsdp, long facs, long dsdt, long fadt, long madt, long mcfg, long xsdt, long rsdt,
                            long end) {
    }

    private AcpiTables() {
    }

    public static Placement write(GuestMemory memory, AcpiSpec spec) {
        long rsdp = BootLayout.FIRMWARE;
        long facs = align(rsdp + Rsdp.SIZE, Facs.ALIGNMENT);
        long dsdt = align(facs + Facs.SIZE, 16);
        byte[] dsdtBytes = Dsdt.build(spec);
        long fadt = align(dsdt + dsdtBytes.length, 16);
        byte[] fadtBytes = Fadt.build(spec, facs, dsdt);
        long madt = align(fadt + fadtBytes.length, 16);
        byte[] madtBytes = Madt.build(spec);
        byte[] mcfgBytes = spec.pci() == null ? new byte[0] : Mcfg.build(spec.pci());
        long mcfg = spec.pci() == null ? 0 : align(madt + madtBytes.length, 16);
        long xsdt = align(mcfg != 0 ? mcfg + mcfgBytes.length : madt + madtBytes.length, 16);
        List<Long> described = spec.pci() == null ? List.of(fadt, madt) : List.of(fadt, madt, mcfg);
        byte[] xsdtBytes = pointerTable("XSDT", described, 8);
        long rsdt = align(xsdt + xsdtBytes.length, 16);
        byte[] rsdtBytes = pointerTable("RSDT", described, 4);
        long end = rsdt + rsdtBytes.length;
        if (end > BootLayout.FIRMWARE_END) {
            throw new IllegalStateException("ACPI tables overflow the BIOS area");
        }
        memory.fill(BootLayout.FIRMWARE, BootLayout.FIRMWARE_END - BootLayout.FIRMWARE, (byte) 0);
        put(memory, facs, Facs.build());
        put(memory, dsdt, dsdtBytes);
        put(memory, fadt, fadtBytes);
        put(memory, madt, madtBytes);
        if (mcfg != 0) {
            put(memory, mcfg, mcfgBytes);
        }
        put(memory, xsdt, xsdtBytes);
        put(memory, rsdt, rsdtBytes);
        put(memory, rsdp, Rsdp.build(rsdt, xsdt));
        return new Placement(rsdp, facs, dsdt, fadt, madt, mcfg, xsdt, rsdt, end);
    }

    /** XSDT (8-byte entries) or RSDT (4-byte entries): a header followed by table addresses. */
    static byte[] pointerTable(String signature, List<Long> tables, int entrySize) {
        AcpiTable t = new AcpiTable(signature, 1, "HAKO" + signature, AcpiTable.HEADER_SIZE + tables.size() * 8);
        int at = AcpiTable.HEADER_SIZE;
        for (long gpa : tables) {
            if (entrySize == 8) {
                t.u64(at, gpa);
            } else {
                t.u32(at, gpa);
            }
            at += entrySize;
        }
        return t.build();
    }

    private static void put(GuestMemory memory, long gpa, byte[] bytes) {
        memory.write(gpa, bytes, 0, bytes.length);
    }

    private static long align(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }
}
