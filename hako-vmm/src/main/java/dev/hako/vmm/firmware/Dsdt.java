package dev.hako.vmm.firmware;

import dev.hako.devices.pci.PciRoot;
import java.util.ArrayList;
import java.util.List;

/**
 * The Differentiated System Description Table: {@code \_S5} (ACPI 6.5 §7.4.2), which Linux reads to power off
 * (it writes that SLP_TYP with SLP_EN into PM1a_CNT), and, when the machine has PCI, the host bridge
 * {@code \_SB.PCI0} (§6.1.5 _HID PNP0A08 with _CID PNP0A03, i.e. PCI Express with a conventional fallback):
 * its segment and base bus, the _CRS windows (bus range, the configuration ports, I/O below and above them, the
 * 32- and 64-bit memory windows) and the _PRT (§6.2.13) that tells the OS which GSI each slot's INTA#..INTD#
 * drives; and, when the machine has one, QEMU's pvpanic device {@code \_SB.PEVT} (_HID "QEMU0001", its one I/O
 * port in _CRS, _STA present, enabled and functioning but not shown), as QEMU describes it, so that Linux's
 * pvpanic-mmio driver binds. The other legacy devices are found without AML (the 8250 and i8042 at their fixed
 * ports).
 */
public final class Dsdt {
    public static final int REVISION = 2;
    private static final int CONFIG_PORTS = 8;

    private Dsdt() {
    }

    public static byte[] build(AcpiSpec spec) {
        List<byte[]> terms = new ArrayList<>();
        terms.add(Aml.name("_S5_", Aml.packageOf(Aml.integer(spec.s5SleepType()), Aml.integer(spec.s5SleepType()),
                Aml.integer(0), Aml.integer(0))));
        List<byte[]> systemBus = new ArrayList<>();
        if (spec.pci() != null) {
            systemBus.add(pciHostBridge(spec.pci()));
        }
        if (spec.pvpanicPort() != 0) {
            systemBus.add(pvpanic(spec.pvpanicPort()));
        }
        if (!systemBus.isEmpty()) {
            terms.add(Aml.scope("\\_SB_", systemBus.toArray(byte[][]::new)));
        }
        byte[] body = Aml.concat(terms.toArray(byte[][]::new));
        return new AcpiTable("DSDT", REVISION, "HAKODSDT", AcpiTable.HEADER_SIZE + body.length)
                .raw(AcpiTable.HEADER_SIZE, body).build();
    }

    static byte[] pciHostBridge(PciHostSpec pci) {
        int configPort = PciRoot.CONFIG_ADDRESS_PORT;
        byte[] resources = Aml.resourceTemplate(
                Aml.wordWindow(Aml.SPACE_BUS, 0, pci.lastBus()),
                Aml.ioPort(configPort, CONFIG_PORTS),
                Aml.wordWindow(Aml.SPACE_IO, 0, configPort - 1),
                Aml.wordWindow(Aml.SPACE_IO, configPort + CONFIG_PORTS, 0xFFFF),
                Aml.dwordMemory(pci.mmio32Start(), pci.mmio32End()),
                Aml.qwordMemory(pci.mmio64Start(), pci.mmio64End()));
        return Aml.device("PCI0",
                Aml.name("_HID", Aml.eisaId("PNP0A08")),
                Aml.name("_CID", Aml.eisaId("PNP0A03")),
                Aml.name("_SEG", Aml.integer(0)),
                Aml.name("_BBN", Aml.integer(0)),
                Aml.name("_UID", Aml.integer(0)),
                Aml.name("_CRS", resources),
                Aml.name("_PRT", Aml.packageOf(routing(pci.slots()))));
    }

    /** _STA bits (ACPI 6.5 §6.3.7): present, enabled, functioning; not shown in the UI, as QEMU leaves it. */
    private static final int STA_PRESENT_ENABLED_FUNCTIONING = 0x0B;

    static byte[] pvpanic(int port) {
        return Aml.device("PEVT",
                Aml.name("_HID", Aml.string("QEMU0001")),
                Aml.name("_CRS", Aml.resourceTemplate(Aml.ioPort(port, 1))),
                Aml.name("_STA", Aml.integer(STA_PRESENT_ENABLED_FUNCTIONING)));
    }

    /** One _PRT entry per slot and pin: {address (slot, any function), pin 0..3, no link device, GSI}. */
    private static byte[][] routing(int slots) {
        List<byte[]> entries = new ArrayList<>();
        for (int slot = 1; slot < slots; slot++) {
            for (int pin = 0; pin < 4; pin++) {
                entries.add(Aml.packageOf(Aml.integer((long) slot << 16 | 0xFFFF), Aml.integer(pin), Aml.integer(0),
                        Aml.integer(PciRoot.intxGsi(slot, pin + 1))));
            }
        }
        return entries.toArray(byte[][]::new);
    }
}
