package dev.hako.devices.irqchip;

import dev.hako.core.state.Snapshotable;
import dev.hako.core.bus.MmioDevice;
import dev.hako.core.irq.IrqLine;

/**
 * Intel 82093AA I/O APIC (datasheet §3, "Register Description"): the indirect IOREGSEL (offset 0x00) and
 * IOWIN (offset 0x10) window at 0xFEC00000, with IOAPICID, IOAPICVER (version 0x11, 24 entries), IOAPICARB
 * and 24 64-bit redirection table entries.
 *
 * <p>Implemented: edge and level trigger modes, remote IRR set on delivery of a level interrupt and cleared
 * by the local APICs' EOI broadcast (re-delivering while the line is still asserted), masking, fixed,
 * lowest-priority, NMI, INIT and SMI-less delivery through the {@link ApicBus} in physical or logical
 * destination mode. As in QEMU, an edge that arrives while its entry is masked is kept and delivered on
 * unmask.
 *
 * <p>Not implemented: the polarity bit (interrupt lines carry asserted/deasserted, the board's inversions
 * are the machine's wiring), ExtINT delivery (the 8259 reaches the CPU through LINT0 instead), the EOI
 * register of later I/O APIC versions, delivery-status (always idle: delivery is instant).
 *
 * <p>Guest control: the redirection table and ID; a guest that routes interrupts to absent APICs loses them.
 */
public final class IoApic implements Snapshotable<IoApicState>, MmioDevice {
    public static final long DEFAULT_BASE = 0xFEC0_0000L;
    public static final int MMIO_SIZE = 0x1000;
    public static final int PINS = 24;

    public static final int IOREGSEL = 0x00;
    public static final int IOWIN = 0x10;
    public static final int REG_ID = 0x00;
    public static final int REG_VERSION = 0x01;
    public static final int REG_ARBITRATION = 0x02;
    public static final int REG_REDIRECTION = 0x10;
    public static final int VERSION = 0x11 | (PINS - 1) << 16;

    public static final long ENTRY_DEST_LOGICAL = 1L << 11;
    public static final long ENTRY_DELIVERY_STATUS = 1L << 12;
    public static final long ENTRY_POLARITY_LOW = 1L << 13;
    public static final long ENTRY_REMOTE_IRR = 1L << 14;
    public static final long ENTRY_LEVEL = 1L << 15;
    public static final long ENTRY_MASKED = 1L << 16;
    private static final long ENTRY_READ_ONLY = ENTRY_DELIVERY_STATUS | ENTRY_REMOTE_IRR;
    private static final long ENTRY_WRITABLE = 0xFF00_0000_0001_AFFFL;

    private final Object lock;
    private final ApicBus bus;
    private final long[] redirection = new long[PINS];
    private final IrqLine[] lines = new IrqLine[PINS];
    private int ioRegisterSelect;
    private int id;
    private int irr; // pins with a pending (edge) or asserted (level) input
    private int inputLevels; // the wires as last driven, for edge detection

    IoApic(Object lock, ApicBus bus) {
        this.lock = lock;
        this.bus = bus;
        java.util.Arrays.fill(redirection, ENTRY_MASKED);
        for (int pin = 0; pin < PINS; pin++) {
            int p = pin;
            lines[pin] = level -> setInput(p, level);
        }
    }

    public IrqLine line(int pin) {
        return lines[pin];
    }

    public void setInput(int pin, boolean level) {
        synchronized (lock) {
            int mask = 1 << pin;
            boolean rising = level && (inputLevels & mask) == 0;
            inputLevels = level ? inputLevels | mask : inputLevels & ~mask;
            long entry = redirection[pin];
            if ((entry & ENTRY_LEVEL) != 0) {
                if (level) {
                    irr |= mask;
                    if ((entry & ENTRY_REMOTE_IRR) == 0) {
                        service();
                    }
                } else {
                    irr &= ~mask;
                }
            } else if (rising) {
                irr |= mask;
                service();
            }
        }
    }

    /** The local APICs' EOI broadcast for {@code vector}: clears remote IRR of matching level entries. */
    void endOfInterrupt(int vector) {
        boolean again = false;
        for (int pin = 0; pin < PINS; pin++) {
            long entry = redirection[pin];
            if ((entry & 0xFF) == vector && (entry & ENTRY_LEVEL) != 0 && (entry & ENTRY_REMOTE_IRR) != 0) {
                redirection[pin] = entry & ~ENTRY_REMOTE_IRR;
                again |= (irr & (1 << pin)) != 0;
            }
        }
        if (again) {
            service();
        }
    }

    /** Delivers every pending, unmasked pin not blocked by remote IRR. */
    private void service() {
        for (int pin = 0; pin < PINS; pin++) {
            int mask = 1 << pin;
            if ((irr & mask) == 0) {
                continue;
            }
            long entry = redirection[pin];
            if ((entry & ENTRY_MASKED) != 0) {
                continue;
            }
            boolean level = (entry & ENTRY_LEVEL) != 0;
            if (level) {
                if ((entry & ENTRY_REMOTE_IRR) != 0) {
                    continue;
                }
                redirection[pin] = entry | ENTRY_REMOTE_IRR;
            } else {
                irr &= ~mask;
            }
            int deliveryMode = (int) (entry >>> 8) & 7;
            bus.deliver((int) (entry >>> 56), (entry & ENTRY_DEST_LOGICAL) != 0, deliveryMode, (int) entry & 0xFF,
                    level);
        }
    }

    @Override
    public long read(int vcpu, long offset, int size) {
        synchronized (lock) {
            if (offset == IOREGSEL) {
                return ioRegisterSelect;
            }
            if (offset != IOWIN) {
                return 0;
            }
            int reg = ioRegisterSelect;
            return switch (reg) {
                case REG_ID, REG_ARBITRATION -> (long) id << 24;
                case REG_VERSION -> VERSION;
                default -> {
                    int pin = (reg - REG_REDIRECTION) >> 1;
                    if (reg < REG_REDIRECTION || pin >= PINS) {
                        yield 0xFFFF_FFFFL;
                    }
                    long entry = redirection[pin];
                    yield (reg & 1) == 0 ? entry & 0xFFFF_FFFFL : entry >>> 32;
                }
            };
        }
    }

    @Override
    public void write(int vcpu, long offset, int size, long value) {
        synchronized (lock) {
            if (offset == IOREGSEL) {
                ioRegisterSelect = (int) value & 0xFF;
                return;
            }
            if (offset != IOWIN) {
                return;
            }
            int reg = ioRegisterSelect;
            if (reg == REG_ID) {
                id = (int) (value >>> 24) & 0xF;
                return;
            }
            int pin = (reg - REG_REDIRECTION) >> 1;
            if (reg < REG_REDIRECTION || pin >= PINS) {
                return;
            }
            long entry = redirection[pin];
            long written = (reg & 1) == 0
                    ? entry & 0xFFFF_FFFF_0000_0000L | value & 0xFFFF_FFFFL
                    : entry & 0xFFFF_FFFFL | (value & 0xFFFF_FFFFL) << 32;
            long updated = written & ENTRY_WRITABLE | entry & ENTRY_READ_ONLY;
            if ((updated & ENTRY_LEVEL) == 0) {
                updated &= ~ENTRY_REMOTE_IRR;
            }
            redirection[pin] = updated;
            service();
        }
    }

    /** The redirection entry for {@code pin}, as the guest would read it. */
    public long redirectionEntry(int pin) {
        synchronized (lock) {
            return redirection[pin];
        }
    }

    @Override
    public IoApicState save() {
        synchronized (lock) {
            return new IoApicState(IoApicState.VERSION, ioRegisterSelect, id, irr, inputLevels, redirection.clone());
        }
    }

    @Override
    public void restore(IoApicState s) {
        if (s.version() != IoApicState.VERSION) {
            throw new IllegalArgumentException("unsupported IoApicState version " + s.version());
        }
        synchronized (lock) {
            ioRegisterSelect = s.ioRegisterSelect();
            id = s.id();
            irr = s.irr();
            inputLevels = s.inputLevels();
            System.arraycopy(s.redirection(), 0, redirection, 0, PINS);
        }
    }
}
