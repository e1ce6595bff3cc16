package dev.hako.devices.legacy;

import dev.hako.core.state.Snapshotable;
import dev.hako.core.bus.PioDevice;
import dev.hako.core.irq.IrqLine;
import dev.hako.core.time.TimerQueue;
import dev.hako.core.time.VirtualClock;

/**
 * Motorola MC146818A real-time clock and CMOS RAM (datasheet: "Address Map", registers A-D, "Update Cycle",
 * "Interrupts") at ports 0x70 (index, bit 7 = NMI disable) and 0x71 (data), interrupting on ISA IRQ8.
 *
 * <p>The wall clock is guest time plus an offset taken from the host clock at creation (or from what the
 * guest sets), so it runs and pauses with the machine. Time registers are computed when read, in BCD or
 * binary (register B DM) and 24- or 12-hour form (register B 24/12, PM in bit 7 of the hour).
 *
 * <p>Implemented: seconds to year plus century (0x32), day of week, the update-in-progress bit during the
 * last 244 us of each second, SET halting updates while the guest writes the time, writes to time
 * registers restarting the clock from the written value, periodic (rates 1-15), alarm (with don't-care
 * values 0xC0-0xFF) and update-ended interrupts, register C reporting and clearing the flags, register D
 * valid RAM, the NMI mask bit, 128 bytes of CMOS RAM with the PC BIOS memory-size fields (0x15-0x18,
 * 0x30-0x31, 0x34-0x35, 0x5B-0x5D) filled by {@link #setMemorySize}.
 *
 * <p>Not implemented: daylight-saving (DSE), the square-wave output, divider chain reset timing and test
 * modes (a DV other than 010 only stops the update and periodic interrupts), the periodic flag while PIE is
 * clear, the extended 256-byte bank.
 *
 * <p>Guest control: time, alarm, rates and CMOS RAM contents; periodic rates faster than 8 kHz are clamped to
 * 8 kHz (rates 1 and 2 mean 256 and 128 Hz, as the datasheet says).
 */
public final class CmosRtc implements Snapshotable<CmosRtcState>, PioDevice {
    public static final int BASE_PORT = 0x70;
    public static final int PORT_COUNT = 2;
    public static final int IRQ = 8;

    public static final int REG_SECONDS = 0x00;
    public static final int REG_SECONDS_ALARM = 0x01;
    public static final int REG_MINUTES = 0x02;
    public static final int REG_MINUTES_ALARM = 0x03;
    public static final int REG_HOURS = 0x04;
    public static final int REG_HOURS_ALARM = 0x05;
    public static final int REG_DAY_OF_WEEK = 0x06;
    public static final int REG_DAY_OF_MONTH = 0x07;
    public static final int REG_MONTH = 0x08;
    public static final int REG_YEAR = 0x09;
    public static final int REG_A = 0x0A;
    public static final int REG_B = 0x0B;
    public static final int REG_C = 0x0C;
    public static final int REG_D = 0x0D;
    public static final int REG_CENTURY = 0x32;

    public static final int A_UIP = 0x80;
    public static final int A_DIVIDER_NORMAL = 0x20;
    public static final int B_SET = 0x80;
    public static final int B_PIE = 0x40;
    public static final int B_AIE = 0x20;
    public static final int B_UIE = 0x10;
    public static final int B_BINARY = 0x04;
    public static final int B_24_HOUR = 0x02;
    public static final int C_IRQF = 0x80;
    public static final int C_PF = 0x40;
    public static final int C_AF = 0x20;
    public static final int C_UF = 0x10;
    public static final int D_VRT = 0x80;

    private static final long SECOND = 1_000_000_000L;
    /** The update cycle takes 244 us before the second rolls over (datasheet "Update Cycle"). */
    private static final long UPDATE_IN_PROGRESS_NANOS = 244_000;

    private final VirtualClock clock;
    private final IrqLine irq;
    private final TimerQueue.Timer periodicTimer;
    private final TimerQueue.Timer updateTimer;
    private final byte[] cmos = new byte[128];
    private final int[] fields = new int[7]; // sec, min, hour, dow, day, month, year (full)
    private int index;
    private boolean nmiDisabled;
    private long wallOffsetNanos;
    private boolean irqLevel;

    /** @param epochMillis the wall-clock time at the current guest time (usually the host's clock) */
    public CmosRtc(TimerQueue timers, IrqLine irq, long epochMillis) {
        this.clock = timers.clock();
        this.irq = irq;
        this.periodicTimer = timers.newTimer(this::periodicTick);
        this.updateTimer = timers.newTimer(this::updateEnded);
        this.wallOffsetNanos = epochMillis * 1_000_000L - clock.nanos();
        cmos[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
        cmos[REG_B] = B_24_HOUR;
        cmos[REG_D] = (byte) D_VRT;
    }

    /** An RTC showing the host's current time. */
    public static CmosRtc fromHostClock(TimerQueue timers, IrqLine irq) {
        return new CmosRtc(timers, irq, System.currentTimeMillis());
    }

    /** Fills the BIOS memory-size bytes from the RAM below and above 4 GiB. */
    public synchronized void setMemorySize(long belowFourGiB, long aboveFourGiB) {
        long extendedKib = Math.min(Math.max(belowFourGiB / 1024 - 1024, 0), 0xFFFF);
        long above16MiBChunks = Math.min(Math.max((belowFourGiB - (16L << 20)) >> 16, 0), 0xFFFF);
        long above4GiBChunks = aboveFourGiB >> 16;
        putWord(0x15, 640);
        putWord(0x17, (int) extendedKib);
        putWord(0x30, (int) extendedKib);
        putWord(0x34, (int) above16MiBChunks);
        cmos[0x5B] = (byte) above4GiBChunks;
        cmos[0x5C] = (byte) (above4GiBChunks >>> 8);
        cmos[0x5D] = (byte) (above4GiBChunks >>> 16);
    }

    private void putWord(int at, int value) {
        cmos[at] = (byte) value;
        cmos[at + 1] = (byte) (value >>> 8);
    }

    /** True while the guest has set bit 7 of port 0x70 (NMIs masked). */
    public synchronized boolean nmiDisabled() {
        return nmiDisabled;
    }

    /** The wall clock as the guest last set it, in nanoseconds since the Unix epoch. */
    public synchronized long wallNanos() {
        return clock.nanos() + wallOffsetNanos;
    }

    @Override
    public synchronized long read(int vcpu, long offset, int size) {
        if (offset == 0) {
            return 0xFF; // the index register is write-only
        }
        return switch (index) {
            case REG_SECONDS, REG_MINUTES, REG_HOURS, REG_DAY_OF_WEEK, REG_DAY_OF_MONTH, REG_MONTH, REG_YEAR,
                    REG_CENTURY -> {
                if (!halted()) {
                    storeTime(wallNanos());
                }
                yield cmos[index] & 0xFF;
            }
            case REG_A -> cmos[REG_A] & 0x7F | (updateInProgress() ? A_UIP : 0);
            case REG_C -> readAndClearFlags();
            default -> cmos[index] & 0xFF;
        };
    }

    @Override
    public synchronized void write(int vcpu, long offset, int size, long value) {
        int v = (int) value & 0xFF;
        if (offset == 0) {
            index = v & 0x7F;
            nmiDisabled = (v & 0x80) != 0;
            return;
        }
        switch (index) {
            case REG_SECONDS, REG_MINUTES, REG_HOURS, REG_DAY_OF_WEEK, REG_DAY_OF_MONTH, REG_MONTH, REG_YEAR,
                    REG_CENTURY -> {
                if (halted()) {
                    cmos[index] = (byte) v;
                } else {
                    long now = wallNanos();
                    storeTime(now);
                    cmos[index] = (byte) v;
                    wallOffsetNanos = loadTime() * SECOND + Math.floorMod(now, SECOND) - clock.nanos();
                }
            }
            case REG_A -> {
                cmos[REG_A] = (byte) (v & 0x7F);
                reschedule();
            }
            case REG_B -> writeRegisterB(v);
            case REG_C, REG_D -> {
                // read-only
            }
            default -> cmos[index] = (byte) v;
        }
    }

    private void writeRegisterB(int v) {
        int old = cmos[REG_B] & 0xFF;
        if ((v & B_SET) != 0 && (old & B_SET) == 0) {
            storeTime(wallNanos()); // freeze the registers the guest is about to overwrite
        }
        if ((v & B_SET) == 0 && (old & B_SET) != 0) {
            wallOffsetNanos = loadTime() * SECOND - clock.nanos(); // the divider restarts the second
        }
        if ((v & B_SET) != 0) {
            v &= ~B_UIE; // SET clears UIE
        }
        cmos[REG_B] = (byte) v;
        reschedule();
        updateIrq();
    }

    private boolean halted() {
        return (cmos[REG_B] & B_SET) != 0;
    }

    private boolean dividerRunning() {
        return (cmos[REG_A] & 0x70) == A_DIVIDER_NORMAL;
    }

    private boolean updateInProgress() {
        return dividerRunning() && !halted() && Math.floorMod(wallNanos(), SECOND) >= SECOND - UPDATE_IN_PROGRESS_NANOS;
    }

    private int readAndClearFlags() {
        int c = cmos[REG_C] & 0xFF;
        cmos[REG_C] = 0;
        updateIrq();
        return c;
    }

    private void raise(int flag) {
        cmos[REG_C] |= (byte) flag;
        updateIrq();
    }

    private void updateIrq() {
        int c = cmos[REG_C] & 0x70;
        int b = cmos[REG_B] & (B_PIE | B_AIE | B_UIE);
        boolean level = (c & b) != 0; // the flag bits line up with their enable bits
        cmos[REG_C] = (byte) (level ? c | C_IRQF : c);
        if (level != irqLevel) {
            irqLevel = level;
            irq.set(level);
        }
    }

    // ---- interrupts ----

    private void reschedule() {
        long now = clock.nanos();
        long period = periodNanos();
        if (period > 0 && (cmos[REG_B] & B_PIE) != 0) {
            periodicTimer.arm(now + untilNextPeriodicTick(period));
        } else {
            periodicTimer.cancel();
        }
        if (dividerRunning() && !halted() && (cmos[REG_B] & (B_UIE | B_AIE)) != 0) {
            updateTimer.arm(now + SECOND - Math.floorMod(wallNanos(), SECOND));
        } else {
            updateTimer.cancel();
        }
    }

    /** The periodic interrupt's period for register A's rate select, or 0 when off. */
    private long periodNanos() {
        int rate = cmos[REG_A] & 0xF;
        if (rate == 0 || !dividerRunning()) {
            return 0;
        }
        if (rate < 3) {
            rate += 7;
        }
        return Math.max((1L << (rate - 1)) * SECOND / 32768, SECOND / 8192);
    }

    /** Periodic ticks are counted from each second boundary, as the divider chain produces them. */
    private long untilNextPeriodicTick(long period) {
        long inSecond = Math.floorMod(wallNanos(), SECOND);
        return Math.min((inSecond / period + 1) * period, SECOND) - inSecond;
    }

    private void periodicTick() {
        synchronized (this) {
            long period = periodNanos();
            if (period == 0 || (cmos[REG_B] & B_PIE) == 0) {
                return;
            }
            periodicTimer.arm(clock.nanos() + untilNextPeriodicTick(period));
            raise(C_PF);
        }
    }

    private void updateEnded() {
        synchronized (this) {
            if (halted() || !dividerRunning()) {
                return;
            }
            long now = wallNanos();
            updateTimer.arm(clock.nanos() + SECOND - Math.floorMod(now, SECOND));
            storeTime(now);
            int flags = C_UF;
            if (alarmMatches(REG_SECONDS_ALARM, REG_SECONDS) && alarmMatches(REG_MINUTES_ALARM, REG_MINUTES)
                    && alarmMatches(REG_HOURS_ALARM, REG_HOURS)) {
                flags |= C_AF;
            }
            raise(flags);
        }
    }

    private boolean alarmMatches(int alarm, int time) {
        int a = cmos[alarm] & 0xFF;
        return a >= 0xC0 || a == (cmos[time] & 0xFF);
    }

    // ---- calendar ----

    /** Writes the wall time {@code wallNanos} into the time registers in the current format. */
    private void storeTime(long wallNanos) {
        long seconds = Math.floorDiv(wallNanos, SECOND);
        long days = Math.floorDiv(seconds, 86_400);
        int secondOfDay = (int) Math.floorMod(seconds, 86_400);
        civilFromDays(days);
        int hour = secondOfDay / 3600;
        cmos[REG_SECONDS] = (byte) encode(secondOfDay % 60);
        cmos[REG_MINUTES] = (byte) encode(secondOfDay / 60 % 60);
        if ((cmos[REG_B] & B_24_HOUR) != 0) {
            cmos[REG_HOURS] = (byte) encode(hour);
        } else {
            int h12 = hour % 12 == 0 ? 12 : hour % 12;
            cmos[REG_HOURS] = (byte) (encode(h12) | (hour >= 12 ? 0x80 : 0));
        }
        cmos[REG_DAY_OF_WEEK] = (byte) encode((int) Math.floorMod(days + 4, 7) + 1); // 1970-01-01 was a Thursday
        cmos[REG_DAY_OF_MONTH] = (byte) encode(fields[4]);
        cmos[REG_MONTH] = (byte) encode(fields[5]);
        cmos[REG_YEAR] = (byte) encode(fields[6] % 100);
        cmos[REG_CENTURY] = (byte) encode(fields[6] / 100);
    }

    /** Reads the time registers back as seconds since the epoch. */
    private long loadTime() {
        int second = decode(cmos[REG_SECONDS] & 0xFF);
        int minute = decode(cmos[REG_MINUTES] & 0xFF);
        int rawHour = cmos[REG_HOURS] & 0xFF;
        int hour;
        if ((cmos[REG_B] & B_24_HOUR) != 0) {
            hour = decode(rawHour);
        } else {
            hour = decode(rawHour & 0x7F) % 12 + ((rawHour & 0x80) != 0 ? 12 : 0);
        }
        int day = decode(cmos[REG_DAY_OF_MONTH] & 0xFF);
        int month = decode(cmos[REG_MONTH] & 0xFF);
        int year = decode(cmos[REG_CENTURY] & 0xFF) * 100 + decode(cmos[REG_YEAR] & 0xFF);
        return daysFromCivil(year, month, day) * 86_400 + hour * 3600L + minute * 60L + second;
    }

    private int encode(int v) {
        return (cmos[REG_B] & B_BINARY) != 0 ? v : v / 10 << 4 | v % 10;
    }

    private int decode(int v) {
        return (cmos[REG_B] & B_BINARY) != 0 ? v : (v >>> 4) * 10 + (v & 0xF);
    }

    /** Howard Hinnant's civil_from_days: fills day, month and year into {@code fields[4..6]}. */
    private void civilFromDays(long z) {
        z += 719_468;
        long era = Math.floorDiv(z, 146_097);
        long doe = z - era * 146_097;
        long yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        long mp = (5 * doy + 2) / 153;
        int month = (int) (mp < 10 ? mp + 3 : mp - 9);
        fields[4] = (int) (doy - (153 * mp + 2) / 5 + 1);
        fields[5] = month;
        fields[6] = (int) (yoe + era * 400 + (month <= 2 ? 1 : 0));
    }

    static long daysFromCivil(int year, int month, int day) {
        long y = month <= 2 ? year - 1 : year;
        long era = Math.floorDiv(y, 400);
        long yoe = y - era * 400;
        long doy = (153L * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
        long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146_097 + doe - 719_468;
    }

    // ---- snapshot ----

    @Override
    public synchronized CmosRtcState save() {
        return new CmosRtcState(CmosRtcState.VERSION, cmos.clone(), index, nmiDisabled, wallOffsetNanos);
    }

    @Override
    public synchronized void restore(CmosRtcState s) {
        if (s.version() != CmosRtcState.VERSION) {
            throw new IllegalArgumentException("unsupported CmosRtcState version " + s.version());
        }
        System.arraycopy(s.cmos(), 0, cmos, 0, cmos.length);
        index = s.index();
        nmiDisabled = s.nmiDisabled();
        wallOffsetNanos = s.wallOffsetNanos();
        reschedule();
        updateIrq();
    }
}
