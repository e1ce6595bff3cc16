package dev.hako.devices.legacy;

import dev.hako.core.state.Snapshotable;
import dev.hako.core.bus.PioDevice;
import dev.hako.core.irq.IrqLine;
import dev.hako.core.time.TimerQueue;
import dev.hako.core.time.VirtualClock;

/**
 * Intel 8254 programmable interval timer (datasheet "8254 Programmable Interval Timer", 231164: control word
 * format, counter modes 0-5, read-back command) at ports 0x40-0x43, clocked at 1.193182 MHz, with channel 0
 * on ISA IRQ0 and channel 2's gate and output on port 0x61 (PC/AT "system control port B": bit 0 gate 2,
 * bit 1 speaker data, bit 4 refresh toggle, bit 5 OUT2).
 *
 * <p>Counters are not ticked: each one remembers when its count was loaded and derives its value and OUT
 * from the {@link VirtualClock}, so reading is exact and an idle PIT costs nothing. Channel 0's OUT rising
 * edges (once in modes 0, 1, 4, 5; every period in modes 2 and 3) pulse IRQ0 through the {@link TimerQueue}.
 *
 * <p>Implemented: modes 0-5 (values and OUT as QEMU's model of them: mode 3 counts down by two, mode 2 OUT
 * is low for one clock per period), binary and BCD counting, LSB/MSB/LSB-then-MSB access, counter latch,
 * read-back of count and status, a control word stopping the counter until its count is written, gate 2
 * retriggering modes 1, 2, 3 and 5 on a rising edge.
 *
 * <p>Not implemented: a low gate pausing modes 0, 2, 3 and 4 (gates 0 and 1 are tied high; Linux raises gate
 * 2 before programming channel 2), a new count in modes 2/3 waiting for the end of the current period (it
 * takes effect at once), the null-count status bit (reads 0), sound.
 *
 * <p>Guest control: counts and modes; IRQ0 periods shorter than {@link #MIN_IRQ_PERIOD_NANOS} are stretched
 * to it so a guest cannot make the host spin.
 */
public final class Pit8254 implements Snapshotable<Pit8254State>, PioDevice {
    public static final int BASE_PORT = 0x40;
    public static final int PORT_COUNT = 4;
    public static final int PORT_B = 0x61;
    public static final int IRQ = 0;
    public static final long FREQUENCY_HZ = 1_193_182;
    public static final long MIN_IRQ_PERIOD_NANOS = 50_000;

    public static final int PORT_B_GATE2 = 0x01;
    public static final int PORT_B_SPEAKER_DATA = 0x02;
    public static final int PORT_B_REFRESH = 0x10;
    public static final int PORT_B_OUT2 = 0x20;

    private static final int CONTROL = 3;
    private static final int ACCESS_LATCH = 0;
    private static final int ACCESS_LSB = 1;
    private static final int ACCESS_MSB = 2;
    private static final int ACCESS_WORD = 3; // LSB first
    private static final int ACCESS_WORD_MSB_NEXT = 4;
    /** DRAM refresh requests toggle port B bit 4 every 15.085 us. */
    private static final long REFRESH_HALF_PERIOD_NANOS = 15_085;

    private final class Channel {
        final int index;
        int count = 0x10000;
        long loadNanos;
        boolean counting;
        int mode;
        boolean bcd;
        int accessMode = ACCESS_WORD;
        int readState = ACCESS_WORD;
        int writeState = ACCESS_WORD;
        int writeLatch;
        int latchedState; // 0 when no count is latched, else the read state of the latched count
        int latchedCount;
        boolean statusLatched;
        int status;
        boolean gate;
        long nextIrqTick;

        Channel(int index) {
            this.index = index;
            this.gate = index != 2;
        }

        long elapsedTicks(long now) {
            return ticksIn(now - loadNanos);
        }

        int value(long now) {
            if (!counting) {
                return count & 0xFFFF;
            }
            long d = elapsedTicks(now);
            long modulus = bcd ? 10_000 : 0x10000;
            long v = switch (mode) {
                case 2 -> count - d % count;
                case 3 -> count - (2 * d) % count;
                default -> Math.floorMod(count - d, modulus);
            };
            return (int) (v % modulus);
        }

        boolean out(long now) {
            if (!counting) {
                return mode != 0;
            }
            long d = elapsedTicks(now);
            return switch (mode) {
                case 0 -> d >= count;
                case 1 -> d >= count;
                case 2 -> d % count != count - 1;
                case 3 -> d % count < (count + 1) / 2;
                default -> d != count; // modes 4 and 5 strobe low for one clock
            };
        }

        void load(int raw, long now) {
            int value = bcd ? fromBcd(raw) : raw;
            count = value == 0 ? (bcd ? 10_000 : 0x10000) : value;
            loadNanos = now;
            counting = true;
            scheduleIrq(this);
        }

        int readByte(long now) {
            if (statusLatched) {
                statusLatched = false;
                return status;
            }
            if (latchedState != 0) {
                int v = latchedState == ACCESS_MSB ? latchedCount >>> 8 : latchedCount & 0xFF;
                latchedState = latchedState == ACCESS_WORD ? ACCESS_MSB : 0;
                return v;
            }
            int v = displayed(value(now));
            return switch (readState) {
                case ACCESS_LSB -> v & 0xFF;
                case ACCESS_MSB -> v >>> 8;
                case ACCESS_WORD -> {
                    readState = ACCESS_WORD_MSB_NEXT;
                    yield v & 0xFF;
                }
                default -> {
                    readState = ACCESS_WORD;
                    yield v >>> 8;
                }
            };
        }

        void writeByte(int b, long now) {
            switch (writeState) {
                case ACCESS_LSB -> load(b, now);
                case ACCESS_MSB -> load(b << 8, now);
                case ACCESS_WORD -> {
                    writeLatch = b;
                    writeState = ACCESS_WORD_MSB_NEXT;
                }
                default -> {
                    load(writeLatch | b << 8, now);
                    writeState = ACCESS_WORD;
                }
            }
        }

        void latchCount(long now) {
            if (latchedState == 0) {
                latchedCount = displayed(value(now));
                latchedState = accessMode;
            }
        }

        void latchStatus(long now) {
            if (!statusLatched) {
                status = (out(now) ? 0x80 : 0) | accessMode << 4 | mode << 1 | (bcd ? 1 : 0);
                statusLatched = true;
            }
        }

        int displayed(int v) {
            return bcd ? toBcd(v) : v;
        }

        void setGate(boolean level, long now) {
            boolean rising = level && !gate;
            gate = level;
            if (rising && counting && mode != 0 && mode != 4) {
                loadNanos = now; // retrigger
                scheduleIrq(this);
            }
        }
    }

    private final VirtualClock clock;
    private final IrqLine irq;
    private final TimerQueue.Timer irqTimer;
    private final Channel[] channels = {new Channel(0), new Channel(1), new Channel(2)};
    private int portB;
    private final PioDevice portBDevice = new PioDevice() {
        @Override
        public long read(int vcpu, long offset, int size) {
            return readPortB();
        }

        @Override
        public void write(int vcpu, long offset, int size, long value) {
            writePortB((int) value);
        }
    };

    public Pit8254(TimerQueue timers, IrqLine irq) {
        this.clock = timers.clock();
        this.irq = irq;
        this.irqTimer = timers.newTimer(this::irqTimerExpired);
    }

    /** Port 0x61, registered separately because 0x62-0x63 and 0x64 belong to others. */
    public PioDevice portB() {
        return portBDevice;
    }

    @Override
    public synchronized long read(int vcpu, long offset, int size) {
        if (offset == CONTROL) {
            return 0xFF; // the control register is write-only
        }
        return channels[(int) offset].readByte(clock.nanos());
    }

    @Override
    public synchronized void write(int vcpu, long offset, int size, long value) {
        int v = (int) value & 0xFF;
        long now = clock.nanos();
        if (offset != CONTROL) {
            channels[(int) offset].writeByte(v, now);
            return;
        }
        int select = v >>> 6;
        if (select == 3) { // read-back
            for (int i = 0; i < 3; i++) {
                if ((v & (2 << i)) != 0) {
                    if ((v & 0x20) == 0) {
                        channels[i].latchCount(now);
                    }
                    if ((v & 0x10) == 0) {
                        channels[i].latchStatus(now);
                    }
                }
            }
            return;
        }
        Channel c = channels[select];
        int access = (v >>> 4) & 3;
        if (access == ACCESS_LATCH) {
            c.latchCount(now);
            return;
        }
        c.accessMode = access;
        c.readState = access;
        c.writeState = access;
        int mode = (v >>> 1) & 7;
        c.mode = mode > 5 ? mode - 4 : mode; // 6 and 7 alias 2 and 3
        c.bcd = (v & 1) != 0;
        c.counting = false; // waits for its count
        if (c.index == 0) {
            irqTimer.cancel();
        }
    }

    private synchronized long readPortB() {
        long now = clock.nanos();
        int refresh = (now / REFRESH_HALF_PERIOD_NANOS & 1) != 0 ? PORT_B_REFRESH : 0;
        return portB & 0x0F | refresh | (channels[2].out(now) ? PORT_B_OUT2 : 0);
    }

    private synchronized void writePortB(int v) {
        portB = v & 0x0F;
        channels[2].setGate((v & PORT_B_GATE2) != 0, clock.nanos());
    }

    /** Arms IRQ0 at channel 0's next OUT rising edge. */
    private void scheduleIrq(Channel c) {
        if (c.index != 0) {
            return;
        }
        c.nextIrqTick = c.count;
        irqTimer.arm(c.loadNanos + nanosFor(c.nextIrqTick));
    }

    private void irqTimerExpired() {
        synchronized (this) {
            Channel c = channels[0];
            if (!c.counting) {
                return;
            }
            if (c.mode == 2 || c.mode == 3) {
                long periodTicks = c.count;
                long minTicks = ticksIn(MIN_IRQ_PERIOD_NANOS);
                if (periodTicks < minTicks) {
                    periodTicks = (minTicks + c.count - 1) / c.count * c.count;
                }
                long now = clock.nanos();
                do {
                    c.nextIrqTick += periodTicks;
                } while (c.loadNanos + nanosFor(c.nextIrqTick) <= now); // a late host skips, it does not burst
                irqTimer.arm(c.loadNanos + nanosFor(c.nextIrqTick));
            }
        }
        irq.pulse();
    }

    /** Whole PIT clocks in {@code nanos} nanoseconds. */
    static long ticksIn(long nanos) {
        return nanos / 1_000_000_000L * FREQUENCY_HZ + nanos % 1_000_000_000L * FREQUENCY_HZ / 1_000_000_000L;
    }

    /** The first nanosecond at which {@code ticks} whole PIT clocks have elapsed. */
    static long nanosFor(long ticks) {
        return ticks / FREQUENCY_HZ * 1_000_000_000L
                + Math.ceilDiv(ticks % FREQUENCY_HZ * 1_000_000_000L, FREQUENCY_HZ);
    }

    private static int fromBcd(int v) {
        return (v >>> 12 & 0xF) * 1000 + (v >>> 8 & 0xF) * 100 + (v >>> 4 & 0xF) * 10 + (v & 0xF);
    }

    private static int toBcd(int v) {
        v %= 10_000;
        return v / 1000 << 12 | v / 100 % 10 << 8 | v / 10 % 10 << 4 | v % 10;
    }

    // ---- snapshot ----

    @Override
    public synchronized Pit8254State save() {
        Pit8254State.Channel[] saved = new Pit8254State.Channel[3];
        for (int i = 0; i < 3; i++) {
            Channel c = channels[i];
            saved[i] = new Pit8254State.Channel(c.count, c.loadNanos, c.counting, c.mode, c.bcd, c.accessMode,
                    c.readState, c.writeState, c.writeLatch, c.latchedState, c.latchedCount, c.statusLatched, c.status,
                    c.gate);
        }
        return new Pit8254State(Pit8254State.VERSION, saved, portB);
    }

    @Override
    public synchronized void restore(Pit8254State s) {
        if (s.version() != Pit8254State.VERSION) {
            throw new IllegalArgumentException("unsupported Pit8254State version " + s.version());
        }
        for (int i = 0; i < 3; i++) {
            Pit8254State.Channel saved = s.channels()[i];
            Channel c = channels[i];
            c.count = saved.count();
            c.loadNanos = saved.loadNanos();
            c.counting = saved.counting();
            c.mode = saved.mode();
            c.bcd = saved.bcd();
            c.accessMode = saved.accessMode();
            c.readState = saved.readState();
            c.writeState = saved.writeState();
            c.writeLatch = saved.writeLatch();
            c.latchedState = saved.latchedState();
            c.latchedCount = saved.latchedCount();
            c.statusLatched = saved.statusLatched();
            c.status = saved.status();
            c.gate = saved.gate();
        }
        portB = s.portB();
        irqTimer.cancel();
        Channel c0 = channels[0];
        if (c0.counting) {
            long elapsed = c0.elapsedTicks(clock.nanos());
            boolean periodic = c0.mode == 2 || c0.mode == 3;
            if (periodic || elapsed < c0.count) {
                c0.nextIrqTick = periodic ? (elapsed / c0.count + 1) * c0.count : c0.count;
                irqTimer.arm(c0.loadNanos + nanosFor(c0.nextIrqTick));
            }
        }
    }
}
