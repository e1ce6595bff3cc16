package dev.hako.vmm.firmware;

import dev.hako.core.memory.GuestMemory;
import dev.hako.vmm.boot.BootLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Finds the tables the way an OS does (RSDP scan, then XSDT) and checks checksums and fields. */
class AcpiTablesTest {
    private static final int VCPUS = 3;

    private Arena arena;
    private GuestMemory memory;
    private AcpiTables.Placement placement;

    @BeforeEach
    void setUp() {
        arena = Arena.ofConfined();
        memory = new GuestMemory(arena.allocate(2 << 20, 4096));
        placement = AcpiTables.write(memory, AcpiSpec.standard(VCPUS));
    }

    @AfterEach
    void tearDown() {
        arena.close();
    }

    private byte[] read(long gpa, int size) {
        byte[] b = new byte[size];
        memory.read(gpa, b, 0, size);
        return b;
    }

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static int sum(byte[] b, int from, int to) {
        int s = 0;
        for (int i = from; i < to; i++) {
            s += b[i] & 0xFF;
        }
        return s & 0xFF;
    }

    /** Linux's acpi_find_root_pointer: "RSD PTR " on a 16-byte boundary in 0xE0000-0xFFFFF, valid checksum. */
    private long scanForRsdp() {
        for (long gpa = BootLayout.FIRMWARE; gpa < BootLayout.FIRMWARE_END; gpa += 16) {
            byte[] candidate = read(gpa, Rsdp.V1_SIZE);
            if (new String(candidate, 0, 8, StandardCharsets.US_ASCII).equals("RSD PTR ")
                    && sum(candidate, 0, Rsdp.V1_SIZE) == 0) {
                return gpa;
            }
        }
        return -1;
    }

    /** A table at {@code gpa}: its full bytes, after checking the length and checksum. */
    private byte[] table(long gpa, String signature) {
        byte[] header = read(gpa, AcpiTable.HEADER_SIZE);
        assertThat(new String(header, 0, 4, StandardCharsets.US_ASCII)).isEqualTo(signature);
        int length = le(header).getInt(AcpiTable.LENGTH);
        byte[] table = read(gpa, length);
        assertThat(sum(table, 0, length)).as("%s checksum", signature).isZero();
        assertThat(new String(table, AcpiTable.OEM_ID, 6, StandardCharsets.US_ASCII)).isEqualTo("HAKO  ");
        return table;
    }

    private Map<String, Long> tablesFromXsdt() {
        byte[] rsdp = read(scanForRsdp(), Rsdp.SIZE);
        byte[] xsdt = table(le(rsdp).getLong(Rsdp.XSDT_ADDRESS), "XSDT");
        Map<String, Long> tables = new HashMap<>();
        for (int at = AcpiTable.HEADER_SIZE; at < xsdt.length; at += 8) {
            long gpa = le(xsdt).getLong(at);
            tables.put(new String(read(gpa, 4), StandardCharsets.US_ASCII), gpa);
        }
        return tables;
    }

    @Test
    void rsdpIsFoundByTheBiosAreaScanAndBothChecksumsHold() {
        long gpa = scanForRsdp();
        assertThat(gpa).isEqualTo(placement.rsdp());
        byte[] rsdp = read(gpa, Rsdp.SIZE);
        assertThat(rsdp[Rsdp.REVISION]).isEqualTo((byte) 2);
        assertThat(le(rsdp).getInt(Rsdp.LENGTH)).isEqualTo(36);
        assertThat(sum(rsdp, 0, Rsdp.SIZE)).as("extended checksum").isZero();
        assertThat(le(rsdp).getLong(Rsdp.XSDT_ADDRESS)).isEqualTo(placement.xsdt());
        assertThat(le(rsdp).getInt(Rsdp.RSDT_ADDRESS) & 0xFFFF_FFFFL).isEqualTo(placement.rsdt());
    }

    @Test
    void xsdtAndRsdtListTheFadtMadtAndMcfg() {
        assertThat(tablesFromXsdt()).containsOnly(Map.entry("FACP", placement.fadt()),
                Map.entry("APIC", placement.madt()), Map.entry("MCFG", placement.mcfg()));
        byte[] rsdt = table(placement.rsdt(), "RSDT");
        assertThat(le(rsdt).getInt(36)).isEqualTo((int) placement.fadt());
        assertThat(le(rsdt).getInt(40)).isEqualTo((int) placement.madt());
        assertThat(le(rsdt).getInt(44)).isEqualTo((int) placement.mcfg());
        assertThat(rsdt).hasSize(48);
    }

    @Test
    void fadtDescribesAFullPcWithPmBlocksSciAndReset() {
        ByteBuffer f = le(table(tablesFromXsdt().get("FACP"), "FACP"));
        assertThat(f.get(AcpiTable.REVISION)).isGreaterThanOrEqualTo((byte) 5);
        assertThat(f.getInt(AcpiTable.LENGTH)).isEqualTo(Fadt.SIZE);
        assertThat(f.getInt(Fadt.FLAGS) & Fadt.HW_REDUCED_ACPI).isZero();
        assertThat(f.getInt(Fadt.FLAGS) & Fadt.RESET_REG_SUP).isNotZero();
        assertThat(f.getInt(Fadt.FLAGS) & Fadt.PWR_BUTTON).as("a fixed-feature power button").isZero();
        assertThat(f.getShort(Fadt.SCI_INT)).isEqualTo((short) 9);
        assertThat(f.getInt(Fadt.SMI_CMD)).as("always in ACPI mode").isZero();
        assertThat(f.getInt(Fadt.PM1A_EVT_BLK)).isEqualTo(0x600);
        assertThat(f.getInt(Fadt.PM1A_CNT_BLK)).isEqualTo(0x604);
        assertThat(f.getInt(Fadt.PM_TMR_BLK)).isEqualTo(0x608);
        assertThat(f.get(Fadt.PM1_EVT_LEN)).isEqualTo((byte) 4);
        assertThat(f.get(Fadt.PM1_CNT_LEN)).isEqualTo((byte) 2);
        assertThat(f.get(Fadt.PM_TMR_LEN)).isEqualTo((byte) 4);
        // X_PM1a_CNT_BLK: system I/O, 16 bits at 0x604.
        assertThat(f.get(Fadt.X_PM1A_CNT_BLK)).isEqualTo((byte) GenericAddress.SYSTEM_IO);
        assertThat(f.get(Fadt.X_PM1A_CNT_BLK + 1)).isEqualTo((byte) 16);
        assertThat(f.getLong(Fadt.X_PM1A_CNT_BLK + 4)).isEqualTo(0x604);
        // Reset: write 0x06 to port 0xCF9.
        assertThat(f.get(Fadt.RESET_REG)).isEqualTo((byte) GenericAddress.SYSTEM_IO);
        assertThat(f.get(Fadt.RESET_REG + 1)).isEqualTo((byte) 8);
        assertThat(f.getLong(Fadt.RESET_REG + 4)).isEqualTo(0xCF9);
        assertThat(f.get(Fadt.RESET_VALUE)).isEqualTo((byte) 6);
        assertThat(f.getShort(Fadt.IAPC_BOOT_ARCH) & (Fadt.LEGACY_DEVICES | Fadt.I8042))
                .isEqualTo(Fadt.LEGACY_DEVICES | Fadt.I8042);
        assertThat(f.getLong(Fadt.X_DSDT)).isEqualTo(placement.dsdt()).isEqualTo(f.getInt(Fadt.DSDT));
        assertThat(f.getInt(Fadt.FIRMWARE_CTRL)).isEqualTo((int) placement.facs());
        assertThat(f.getLong(Fadt.X_FIRMWARE_CTRL)).as("FACS given once").isZero();
    }

    @Test
    void facsIsAlignedAndSigned() {
        assertThat(placement.facs() % 64).isZero();
        ByteBuffer facs = le(read(placement.facs(), Facs.SIZE));
        assertThat(new String(read(placement.facs(), 4), StandardCharsets.US_ASCII)).isEqualTo("FACS");
        assertThat(facs.getInt(Facs.LENGTH)).isEqualTo(64);
    }

    @Test
    void madtHasOneLocalApicPerVcpuTheIoapicAndPcOverrides() {
        byte[] madt = table(tablesFromXsdt().get("APIC"), "APIC");
        ByteBuffer m = le(madt);
        assertThat(m.getInt(Madt.LOCAL_APIC_ADDRESS)).isEqualTo(0xFEE00000);
        assertThat(m.getInt(Madt.FLAGS) & Madt.FLAG_PCAT_COMPAT).isNotZero();
        int localApics = 0;
        Map<Integer, int[]> overrides = new HashMap<>();
        boolean ioapic = false;
        for (int at = Madt.ENTRIES; at < madt.length; at += madt[at + 1] & 0xFF) {
            int type = madt[at], length = madt[at + 1] & 0xFF;
            assertThat(length).isPositive();
            switch (type) {
                case Madt.TYPE_LOCAL_APIC -> {
                    assertThat(madt[at + 3]).as("APIC ID").isEqualTo((byte) localApics);
                    assertThat(m.getInt(at + 4) & Madt.LOCAL_APIC_ENABLED).isNotZero();
                    localApics++;
                }
                case Madt.TYPE_IO_APIC -> {
                    assertThat(m.getInt(at + 4)).isEqualTo(0xFEC00000);
                    assertThat(m.getInt(at + 8)).as("GSI base").isZero();
                    ioapic = true;
                }
                case Madt.TYPE_INTERRUPT_OVERRIDE ->
                        overrides.put((int) madt[at + 3], new int[] {m.getInt(at + 4), m.getShort(at + 8)});
                case Madt.TYPE_LOCAL_APIC_NMI -> assertThat(madt[at + 5]).as("LINT1").isEqualTo((byte) 1);
                default -> throw new AssertionError("unexpected MADT entry type " + type);
            }
        }
        assertThat(localApics).isEqualTo(VCPUS);
        assertThat(ioapic).isTrue();
        assertThat(overrides.get(0)).containsExactly(2, 0);
        assertThat(overrides.get(9)).containsExactly(9, Madt.INTI_ACTIVE_HIGH | Madt.INTI_LEVEL);
    }

    @Test
    void dsdtCarriesTheS5PackageInAml() {
        byte[] dsdt = table(placement.dsdt(), "DSDT");
        byte[] aml = java.util.Arrays.copyOfRange(dsdt, AcpiTable.HEADER_SIZE, dsdt.length);
        // NameOp "_S5_" PackageOp PkgLength=8 NumElements=4 ByteConst 5, ByteConst 5, Zero, Zero
        assertThat(java.util.Arrays.copyOf(aml, 14))
                .containsExactly(0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0A, 5, 0x0A, 5, 0, 0);
        // then Scope (\_SB) holding the PCI host bridge
        assertThat(aml[14]).isEqualTo((byte) 0x10);
    }

    @Test
    void tablesStayInsideTheBiosArea() {
        assertThat(placement.end()).isLessThanOrEqualTo(BootLayout.FIRMWARE_END);
        assertThat(placement.rsdp() % 16).isZero();
    }
}
