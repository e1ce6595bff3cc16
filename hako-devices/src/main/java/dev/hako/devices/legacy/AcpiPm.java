package dev.hako.devices.legacy;

import dev.hako.core.state.Snapshotable;
import dev.hako.core.bus.PioDevice;
import dev.hako.core.irq.IrqLine;
import dev.hako.core.time.TimerQueue;
import dev.hako.core.time.VirtualClock;

/**
 * ACPI fixed hardware (ACPI 6.5 §4.8 "ACPI Hardware Features": PM1 event and control registers §4.8.3,
 * power management timer §4.8.3.3, GPE0 block §4.8.4.1) as I/O port blocks whose addresses the FADT gives,
 * plus the SMI command port that switches ACPI mode on and the FADT reset register.
 *
 * <p>Implemented: PM1_STS (write 1 to clear) and PM1_EN with TMR, GBL, PWRBTN, SLPBTN, RTC and WAK status;
 * PM1_CNT with SCI_EN and SLP_TYP/SLP_EN, where entering the S5 sleep type calls the power-off callback;
 * the 3.579545 MHz PM timer in 24 or 32 bits (FADT TMR_VAL_EXT) with TMR_STS on each change of the top
 * bit and its SCI when TMR_EN is set; a power button ({@link #pressPowerButton}); SMI_CMD values
 * {@link #SMI_ACPI_ENABLE}/{@link #SMI_ACPI_DISABLE}; a GPE0 block with no event sources; the reset register
 * (a write with bit 2, RST_CPU, set calls the reset callback, as PIIX/ICH's 0xCF9 does). The SCI is a level
 * output: asserted while SCI_EN and any enabled status bit is set.
 *
 * <p>Not implemented: sleep states other than S5 (entering one sets WAK_STS and returns at once, as if
 * woken immediately), PM2 control, bus-master status, global lock (GBL_RLS is accepted and ignored).
 *
 * <p>Guest control: the registers above; powering off and resetting are requests to the VMM, which decides.
 */
public final class AcpiPm implements Snapshotable<AcpiPmState> {
    public static final long TIMER_HZ = 3_579_545;
    public static final int SMI_ACPI_ENABLE = 0xF1;
    public static final int SMI_ACPI_DISABLE = 0xF0;
    /** Where QEMU's PIIX4 puts these blocks; the FADT may say otherwise. */
    public static final int DEFAULT_PM1A_EVENT_PORT = 0x600;
    public static final int DEFAULT_PM1A_CONTROL_PORT = 0x604;
    public static final int DEFAULT_PM_TIMER_PORT = 0x608;
    public static final int DEFAULT_GPE0_PORT = 0xAFE0;
    public static final int DEFAULT_SMI_COMMAND_PORT = 0xB2;
    public static final int RESET_PORT = 0xCF9;

    public static final int PM1_EVENT_LENGTH = 4;
    public static final int PM1_CONTROL_LENGTH = 2;
    public static final int PM_TIMER_LENGTH = 4;

    public static final int STS_TMR = 0x0001;
    public static final int STS_BM = 0x0010;
    public static final int STS_GBL = 0x0020;
    public static final int STS_PWRBTN = 0x0100;
    public static final int STS_SLPBTN = 0x0200;
    public static final int STS_RTC = 0x0400;
    public static final int STS_WAK = 0x8000;
    private static final int STS_SCI_SOURCES = STS_TMR | STS_GBL | STS_PWRBTN | STS_SLPBTN | STS_RTC;

    public static final int CNT_SCI_EN = 0x0001;
    public static final int CNT_SLP_TYP_SHIFT = 10;
    public static final int CNT_SLP_EN = 0x2000;

    public static final int RESET_RST_CPU = 0x04;

    private final VirtualClock clock;
    private final TimerQueue.Timer carryTimer;
    private final IrqLine sci;
    private final int s5SleepType;
    private final boolean timer32Bit;
    private final Runnable powerOff;
    private final Runnable reset;
    private final byte[] gpeStatus;
    private final byte[] gpeEnable;
    private int status;
    private int enable;
    private int control;
    private long timerStatusClearedAt;
    private int resetControl;
    private boolean sciLevel;

    /**
     * @param s5SleepType the SLP_TYP value of the DSDT's {@code \_S5} object
     * @param timer32Bit FADT flag TMR_VAL_EXT
     * @param sciEnabledAtReset true for a machine without SMI_CMD (the guest then finds ACPI mode on)
     * @param gpe0Length FADT GPE0_BLK_LEN (even, may be 0)
     */
    public AcpiPm(TimerQueue timers, IrqLine sci, int s5SleepType, boolean timer32Bit, boolean sciEnabledAtReset,
            int gpe0Length, Runnable powerOff, Runnable reset) {
        this.clock = timers.clock();
        this.carryTimer = timers.newTimer(this::timerCarry);
        this.sci = sci;
        this.s5SleepType = s5SleepType;
        this.timer32Bit = timer32Bit;
        this.powerOff = powerOff;
        this.reset = reset;
        this.gpeStatus = new byte[gpe0Length / 2];
        this.gpeEnable = new byte[gpe0Length / 2];
        this.control = sciEnabledAtReset ? CNT_SCI_EN : 0;
    }

    /** PM1a_EVT_BLK: PM1_STS at offset 0, PM1_EN at offset 2. */
    public PioDevice eventBlock() {
        return eventBlock;
    }

    /** PM1a_CNT_BLK. */
    public PioDevice controlBlock() {
        return controlBlock;
    }

    /** PM_TMR_BLK. */
    public PioDevice timerBlock() {
        return timerBlock;
    }

    /** GPE0_BLK: status bytes, then enable bytes. */
    public PioDevice gpe0Block() {
        return gpe0Block;
    }

    /** SMI_CMD. */
    public PioDevice smiCommand() {
        return smiCommand;
    }

    /** The FADT RESET_REG when it is a one-byte I/O register such as 0xCF9. */
    public PioDevice resetRegister() {
        return resetRegister;
    }

    /** The power button was pressed: PWRBTN_STS, and an SCI if the guest enabled it. */
    public synchronized void pressPowerButton() {
        status |= STS_PWRBTN;
        updateSci();
    }

    /** PM timer ticks since guest time zero (all 64 bits; the register shows the low 24 or 32). */
    public long timerTicks() {
        long ns = clock.nanos();
        return ns / 1_000_000_000L * TIMER_HZ + ns % 1_000_000_000L * TIMER_HZ / 1_000_000_000L;
    }

    /** TMR_STS is set whenever the counter's top bit (23 or 31) changes, in either direction. */
    private int timerToggleShift() {
        return timer32Bit ? 31 : 23;
    }

    private int currentStatus() {
        int s = status;
        if (timerTicks() >>> timerToggleShift() != timerStatusClearedAt >>> timerToggleShift()) {
            s |= STS_TMR;
        }
        return s;
    }

    private void updateSci() {
        boolean level = (control & CNT_SCI_EN) != 0 && (currentStatus() & enable & STS_SCI_SOURCES) != 0;
        if (level != sciLevel) {
            sciLevel = level;
            sci.set(level);
        }
        if ((enable & STS_TMR) != 0 && (currentStatus() & STS_TMR) == 0) {
            long nextToggle = ((timerTicks() >>> timerToggleShift()) + 1) << timerToggleShift();
            carryTimer.arm(nextToggle / TIMER_HZ * 1_000_000_000L
                    + Math.ceilDiv(nextToggle % TIMER_HZ * 1_000_000_000L, TIMER_HZ));
        } else {
            carryTimer.cancel();
        }
    }

    private synchronized void timerCarry() {
        updateSci();
    }

    private final PioDevice eventBlock = new PioDevice() {
        @Override
        public long read(int vcpu, long offset, int size) {
            synchronized (AcpiPm.this) {
                long both = (currentStatus() & 0xFFFFL) | (long) enable << 16;
                return both >>> (offset * 8);
            }
        }

        @Override
        public void write(int vcpu, long offset, int size, long value) {
            synchronized (AcpiPm.this) {
                for (int i = 0; i < size && offset + i < PM1_EVENT_LENGTH; i++) {
                    int b = (int) (value >>> (8 * i)) & 0xFF;
                    int at = (int) offset + i;
                    if (at < 2) {
                        int clear = b << (8 * at);
                        if ((clear & STS_TMR) != 0) {
                            timerStatusClearedAt = timerTicks();
                        }
                        status &= ~clear;
                    } else {
                        int shift = 8 * (at - 2);
                        enable = enable & ~(0xFF << shift) | b << shift;
                    }
                }
                updateSci();
            }
        }
    };

    private final PioDevice controlBlock = new PioDevice() {
        @Override
        public long read(int vcpu, long offset, int size) {
            synchronized (AcpiPm.this) {
                return (control & ~CNT_SLP_EN) >>> (offset * 8);
            }
        }

        @Override
        public void write(int vcpu, long offset, int size, long value) {
            synchronized (AcpiPm.this) {
                int v = (int) (value << (offset * 8)) & 0xFFFF;
                int keep = offset == 0 && size == 1 ? control & 0xFF00 : offset == 1 ? control & 0x00FF : 0;
                control = (keep | v) & ~CNT_SLP_EN;
                updateSci();
                if ((v & CNT_SLP_EN) != 0) {
                    int sleepType = (v >>> CNT_SLP_TYP_SHIFT) & 7;
                    if (sleepType == s5SleepType) {
                        powerOff.run();
                    } else {
                        status |= STS_WAK;
                    }
                }
            }
        }
    };

    private final PioDevice timerBlock = new PioDevice() {
        @Override
        public long read(int vcpu, long offset, int size) {
            long mask = timer32Bit ? 0xFFFF_FFFFL : 0xFF_FFFFL;
            return (timerTicks() & mask) >>> (offset * 8);
        }

        @Override
        public void write(int vcpu, long offset, int size, long value) {
            // read-only
        }
    };

    private final PioDevice gpe0Block = new PioDevice() {
        @Override
        public long read(int vcpu, long offset, int size) {
            synchronized (AcpiPm.this) {
                long v = 0;
                for (int i = size - 1; i >= 0; i--) {
                    v = v << 8 | gpeByte((int) offset + i);
                }
                return v;
            }
        }

        @Override
        public void write(int vcpu, long offset, int size, long value) {
            synchronized (AcpiPm.this) {
                for (int i = 0; i < size; i++) {
                    int at = (int) offset + i;
                    int b = (int) (value >>> (8 * i)) & 0xFF;
                    if (at < gpeStatus.length) {
                        gpeStatus[at] &= (byte) ~b;
                    } else if (at < 2 * gpeStatus.length) {
                        gpeEnable[at - gpeStatus.length] = (byte) b;
                    }
                }
            }
        }

        private int gpeByte(int at) {
            if (at < gpeStatus.length) {
                return gpeStatus[at] & 0xFF;
            }
            return at < 2 * gpeStatus.length ? gpeEnable[at - gpeStatus.length] & 0xFF : 0;
        }
    };

    private final PioDevice smiCommand = new PioDevice() {
        @Override
        public long read(int vcpu, long offset, int size) {
            return 0;
        }

        @Override
        public void write(int vcpu, long offset, int size, long value) {
            synchronized (AcpiPm.this) {
                int v = (int) value & 0xFF;
                if (v == SMI_ACPI_ENABLE) {
                    control |= CNT_SCI_EN;
                } else if (v == SMI_ACPI_DISABLE) {
                    control &= ~CNT_SCI_EN;
                }
                updateSci();
            }
        }
    };

    private final PioDevice resetRegister = new PioDevice() {
        @Override
        public long read(int vcpu, long offset, int size) {
            synchronized (AcpiPm.this) {
                return resetControl;
            }
        }

        @Override
        public void write(int vcpu, long offset, int size, long value) {
            synchronized (AcpiPm.this) {
                resetControl = (int) value & 0x0A;
                if ((value & RESET_RST_CPU) != 0) {
                    reset.run();
                }
            }
        }
    };

    @Override
    public synchronized AcpiPmState save() {
        return new AcpiPmState(AcpiPmState.VERSION, status, enable, control, timerStatusClearedAt, gpeStatus.clone(),
                gpeEnable.clone());
    }

    @Override
    public synchronized void restore(AcpiPmState s) {
        if (s.version() != AcpiPmState.VERSION) {
            throw new IllegalArgumentException("unsupported AcpiPmState version " + s.version());
        }
        status = s.status();
        enable = s.enable();
        control = s.control();
        timerStatusClearedAt = s.timerStatusClearedAt();
        System.arraycopy(s.gpeStatus(), 0, gpeStatus, 0, gpeStatus.length);
        System.arraycopy(s.gpeEnable(), 0, gpeEnable, 0, gpeEnable.length);
        updateSci();
    }
}
