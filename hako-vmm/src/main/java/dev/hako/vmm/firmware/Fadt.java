package dev.hako.vmm.firmware;

/**
 * The Fixed ACPI Description Table, "FACP" (ACPI 6.5 5.2.9), revision 6: a full (not hardware-reduced) PC with
 * the PM1a event and control blocks and a 32-bit PM timer at I/O ports, SCI on IRQ 9, no SMI command port (the
 * machine is always in ACPI mode, so the PM1 control register reports SCI_EN), legacy devices and an i8042, no
 * VGA, C1 via HLT, and a reset register. The FACS is given only through the 32-bit FIRMWARE_CTRL (X_FIRMWARE_CTRL
 * zero): ACPICA installs a FACS for each non-zero pointer, so filling both makes Linux list it twice. The DSDT
 * is given through both DSDT and X_DSDT, which must then agree.
 */
public final class Fadt {
    public static final int REVISION = 6, MINOR_VERSION = 5, SIZE = 276;

    public static final int FIRMWARE_CTRL = 36, DSDT = 40, PREFERRED_PM_PROFILE = 45, SCI_INT = 46, SMI_CMD = 48,
            PM1A_EVT_BLK = 56, PM1A_CNT_BLK = 64, PM_TMR_BLK = 76, PM1_EVT_LEN = 88, PM1_CNT_LEN = 89,
            PM_TMR_LEN = 91, P_LVL2_LAT = 96, P_LVL3_LAT = 98, CENTURY = 108, IAPC_BOOT_ARCH = 109, FLAGS = 112,
            RESET_REG = 116, RESET_VALUE = 128, FADT_MINOR_VERSION = 131, X_FIRMWARE_CTRL = 132, X_DSDT = 140,
            X_PM1A_EVT_BLK = 148, X_PM1A_CNT_BLK = 172, X_PM_TMR_BLK = 208, HYPERVISOR_VENDOR_IDENTITY = 268;

    // Fixed feature flags (ACPI 6.5 Table 5.10).
    public static final int WBINVD = 1, PROC_C1 = 1 << 2, PWR_BUTTON = 1 << 4, SLP_BUTTON = 1 << 5,
            TMR_VAL_EXT = 1 << 8, RESET_REG_SUP = 1 << 10, HW_REDUCED_ACPI = 1 << 20;
    // IA-PC boot architecture flags (ACPI 6.5 Table 5.11).
    public static final int LEGACY_DEVICES = 1, I8042 = 1 << 1, VGA_NOT_PRESENT = 1 << 2;
    /** C2/C3 latencies above 100/1000 microseconds mean "not supported". */
    public static final int C2_UNSUPPORTED = 101, C3_UNSUPPORTED = 1001;
    /** CMOS RAM index of the century byte, as the RTC device keeps it. */
    public static final int CMOS_CENTURY = 0x32;

    private Fadt() {
    }

    public static byte[] build(AcpiSpec spec, long facsGpa, long dsdtGpa) {
        AcpiTable t = new AcpiTable("FACP", REVISION, "HAKOFACP", SIZE)
                .u32(FIRMWARE_CTRL, facsGpa).u32(DSDT, dsdtGpa)
                .u8(PREFERRED_PM_PROFILE, 0)
                .u16(SCI_INT, spec.sciIrq()).u32(SMI_CMD, 0)
                .u32(PM1A_EVT_BLK, spec.pm1aEventPort()).u32(PM1A_CNT_BLK, spec.pm1aControlPort())
                .u32(PM_TMR_BLK, spec.pmTimerPort())
                .u8(PM1_EVT_LEN, AcpiSpec.PM1_EVT_LEN).u8(PM1_CNT_LEN, AcpiSpec.PM1_CNT_LEN)
                .u8(PM_TMR_LEN, AcpiSpec.PM_TMR_LEN)
                .u16(P_LVL2_LAT, C2_UNSUPPORTED).u16(P_LVL3_LAT, C3_UNSUPPORTED)
                .u8(CENTURY, CMOS_CENTURY)
                .u16(IAPC_BOOT_ARCH, LEGACY_DEVICES | I8042 | VGA_NOT_PRESENT)
                // PWR_BUTTON clear: the power button is the fixed-feature one (PM1's PWRBTN_STS, what
                // Machine.pressPowerButton sets), as on QEMU's machines; set, the guest would look for a
                // control-method button (PNP0C0C) in the DSDT and have none. No sleep button at all.
                .u32(FLAGS, WBINVD | PROC_C1 | SLP_BUTTON | TMR_VAL_EXT | RESET_REG_SUP)
                .gas(RESET_REG, GenericAddress.port(spec.resetPort(), 1)).u8(RESET_VALUE, spec.resetValue())
                .u8(FADT_MINOR_VERSION, MINOR_VERSION)
                .u64(X_FIRMWARE_CTRL, 0).u64(X_DSDT, dsdtGpa)
                .gas(X_PM1A_EVT_BLK, GenericAddress.port(spec.pm1aEventPort(), AcpiSpec.PM1_EVT_LEN))
                .gas(X_PM1A_CNT_BLK, GenericAddress.port(spec.pm1aControlPort(), AcpiSpec.PM1_CNT_LEN))
                .gas(X_PM_TMR_BLK, GenericAddress.port(spec.pmTimerPort(), AcpiSpec.PM_TMR_LEN))
                .raw(HYPERVISOR_VENDOR_IDENTITY, "hako    ".getBytes(java.nio.charset.StandardCharsets.US_ASCII))
                .length(SIZE);
        return t.build();
    }
}
