package dev.hako.vmm.firmware;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A minimal Differentiated System Description Table: the AML of a single {@code Name (_S5, Package (4) {typ, typ,
 * 0, 0}) } (ACPI 6.5 7.4.2, "\_Sx System States"), which is what Linux reads to power off: it writes that SLP_TYP
 * with SLP_EN into PM1a_CNT. Devices are found without AML (the 8250 and i8042 at their legacy ports).
 * AML encodings from ACPI 6.5 20.2 ("AML Grammar Definition").
 */
public final class Dsdt {
    public static final int REVISION = 2;
    static final int NAME_OP = 0x08, PACKAGE_OP = 0x12, BYTE_PREFIX = 0x0A, ZERO_OP = 0x00, ONE_OP = 0x01;

    private Dsdt() {
    }

    public static byte[] build(AcpiSpec spec) {
        ByteArrayOutputStream aml = new ByteArrayOutputStream();
        aml.write(NAME_OP);
        aml.writeBytes("_S5_".getBytes(StandardCharsets.US_ASCII));
        aml.writeBytes(packageOf(integer(spec.s5SleepType()), integer(spec.s5SleepType()), integer(0), integer(0)));
        byte[] body = aml.toByteArray();
        return new AcpiTable("DSDT", REVISION, "HAKODSDT", AcpiTable.HEADER_SIZE + body.length)
                .raw(AcpiTable.HEADER_SIZE, body).build();
    }

    /** DefPackage := PackageOp PkgLength NumElements PackageElementList, with a one-byte PkgLength. */
    static byte[] packageOf(byte[]... elements) {
        ByteArrayOutputStream contents = new ByteArrayOutputStream();
        contents.write(elements.length);
        for (byte[] e : elements) {
            contents.writeBytes(e);
        }
        int pkgLength = contents.size() + 1;  // PkgLength counts itself
        if (pkgLength > 63) {
            throw new IllegalArgumentException("package too long for a one-byte PkgLength");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(PACKAGE_OP);
        out.write(pkgLength);
        out.writeBytes(contents.toByteArray());
        return out.toByteArray();
    }

    /** ZeroOp, OneOp or ByteConst for a value below 256. */
    static byte[] integer(int value) {
        if (value == 0) {
            return new byte[] {ZERO_OP};
        }
        if (value == 1) {
            return new byte[] {ONE_OP};
        }
        if (value < 0 || value > 0xFF) {
            throw new IllegalArgumentException("only byte constants are needed here, got " + value);
        }
        return new byte[] {BYTE_PREFIX, (byte) value};
    }
}
