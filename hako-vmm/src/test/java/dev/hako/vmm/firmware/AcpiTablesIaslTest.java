package dev.hako.vmm.firmware;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The host's ACPICA disassembler (iasl, from acpica-tools) as an independent reader of the tables. */
class AcpiTablesIaslTest {
    @TempDir
    Path dir;

    private final AcpiSpec spec = AcpiSpec.standard(2);

    private String disassemble(String name, byte[] table) throws Exception {
        Path file = dir.resolve(name + ".dat");
        Files.write(file, table);
        Process p;
        try {
            p = new ProcessBuilder("iasl", "-d", file.toString()).directory(dir.toFile())
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort("iasl (acpica-tools) is not installed: no host oracle for ACPI tables");
            return "";
        }
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(log).isZero();
        String dsl = Files.readString(dir.resolve(name + ".dsl"));
        assertThat(dsl).doesNotContain("Incorrect checksum").doesNotContainIgnoringCase("error");
        return dsl;
    }

    @Test
    void dsdtDisassemblesToTheS5Object() throws Exception {
        String dsl = disassemble("dsdt", Dsdt.build(spec));
        assertThat(dsl).containsPattern("Name \\(_S5, Package \\(0x04\\)\\s*// _S5_: S5 System State\\s*\\{\\s*"
                + "0x05,\\s*0x05,\\s*Zero,\\s*Zero\\s*\\}\\)");
    }

    @Test
    void dsdtDescribesThePciHostBridge() throws Exception {
        String dsl = disassemble("dsdt", Dsdt.build(spec));
        assertThat(dsl).contains("Device (PCI0)")
                .containsPattern("Name \\(_HID, EisaId \\(\"PNP0A08\"\\)")
                .containsPattern("Name \\(_CID, EisaId \\(\"PNP0A03\"\\)")
                .containsPattern("WordBusNumber \\(ResourceProducer, MinFixed, MaxFixed, PosDecode,\\s*"
                        + "0x0000,\\s*// Granularity\\s*0x0000,\\s*// Range Minimum\\s*0x0000,")
                .containsPattern("IO \\(Decode16,\\s*0x0CF8,\\s*// Range Minimum\\s*0x0CF8,")
                .containsPattern("0x0D00,\\s*// Range Minimum\\s*0xFFFF,\\s*// Range Maximum")
                .containsPattern("DWordMemory \\(ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, "
                        + "ReadWrite,\\s*0x00000000,\\s*// Granularity\\s*0xC0000000,\\s*// Range Minimum\\s*"
                        + "0xDFFFFFFF,")
                .containsPattern("QWordMemory \\(ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, "
                        + "ReadWrite,\\s*0x0000000000000000,\\s*// Granularity\\s*0x0000001000000000,"
                        + "\\s*// Range Minimum\\s*0x0000001FFFFFFFFF,")
                .containsPattern("Name \\(_PRT, Package \\(0x7C\\)")
                .containsPattern("Package \\(0x04\\)\\s*\\{\\s*0x0003FFFF,\\s*Zero,\\s*Zero,\\s*0x13\\s*\\}")
                .containsPattern("Package \\(0x04\\)\\s*\\{\\s*0x0004FFFF,\\s*0x03,\\s*Zero,\\s*0x13\\s*\\}");
    }

    @Test
    void dsdtDescribesThePvpanicDeviceAsQemuDoes() throws Exception {
        String dsl = disassemble("dsdt", Dsdt.build(spec));
        assertThat(dsl).contains("Device (PEVT)")
                .containsPattern("Name \\(_HID, \"QEMU0001\"\\)")
                .containsPattern("IO \\(Decode16,\\s*0x0505,\\s*// Range Minimum\\s*0x0505,\\s*// Range Maximum"
                        + "\\s*0x01,\\s*// Alignment\\s*0x01,\\s*// Length")
                .containsPattern("Name \\(_STA, 0x0B\\)");
    }

    @Test
    void mcfgGivesTheEcamWindowOfBusZero() throws Exception {
        String dsl = disassemble("mcfg", Mcfg.build(spec.pci()));
        assertThat(dsl).containsPattern("Base Address : 00000000E0000000")
                .containsPattern("Segment Group Number : 0000")
                .containsPattern("Start Bus Number : 00")
                .containsPattern("End Bus Number : 00");
    }

    @Test
    void fadtFieldsReadBackThroughAcpica() throws Exception {
        String dsl = disassemble("facp", Fadt.build(spec, 0xE0040, 0xE0080));
        assertThat(dsl).containsPattern("Revision : 06")
                .containsPattern("SCI Interrupt : 0009")
                .containsPattern("PM1A Event Block Address : 00000600")
                .containsPattern("PM1A Control Block Address : 00000604")
                .containsPattern("PM Timer Block Address : 00000608")
                .containsPattern("Hardware Reduced \\(V5\\) : 0")
                .containsPattern("Reset Register Supported \\(V2\\) : 1")
                .containsPattern("32-bit PM Timer \\(V1\\) : 1")
                .containsPattern("Value to cause reset : 06")
                .containsPattern("DSDT Address : 00000000000E0080")
                .containsPattern("FACS Address : 000E0040")
                .containsPattern("FACS Address : 0000000000000000");
    }

    @Test
    void madtSubtablesReadBackThroughAcpica() throws Exception {
        String dsl = disassemble("apic", Madt.build(spec));
        assertThat(dsl).containsPattern("Local Apic ID : 00").containsPattern("Local Apic ID : 01")
                .containsPattern("Subtable Type : 01 \\[I/O APIC\\]")
                .containsPattern("Address : FEC00000")
                .containsPattern("Source : 00\\s*\\n.*Interrupt : 00000002\\s*\\n.*Flags \\(decoded below\\) : 0000")
                .containsPattern("Source : 09\\s*\\n.*Interrupt : 00000009\\s*\\n.*Flags \\(decoded below\\) : 000D");
    }
}
