package dev.hako.devices.irqchip;

import dev.hako.core.state.Snapshotable;
import dev.hako.core.bus.MmioBus;
import dev.hako.core.bus.MmioDevice;
import dev.hako.core.bus.PioBus;
import dev.hako.core.irq.IrqChip;
import dev.hako.core.irq.IrqLine;
import dev.hako.core.irq.MsiMessage;
import dev.hako.core.time.TimerQueue;

/**
 * The PC's interrupt controllers emulated in Java, as one {@link IrqChip}: the 8259 pair, one I/O APIC and a
 * local APIC per vCPU, wired like a PIIX/ICH board with ACPI's default interrupt source override: ISA IRQ n
 * drives 8259 input n and I/O APIC pin n, except IRQ0 (the PIT) which arrives on pin 2, pin 0 being the
 * 8259's output in virtual-wire mode B (not modelled). The 8259 output reaches every CPU whose LINT0 is an
 * unmasked ExtINT (the BSP at reset) or whose APIC is off.
 *
 * <p>All controllers share one lock, so a chain such as IOAPIC delivery, LAPIC EOI broadcast and IOAPIC
 * re-delivery never takes locks in two orders. Devices call in holding their own lock; nothing here calls
 * back into a device.
 */
public final class UserspaceIrqChip implements Snapshotable<UserspaceIrqChipState>, IrqChip {
    public static final int ISA_IRQS = 16;

    private final Object lock = new Object();
    private final ApicBus apicBus;
    private final LocalApic[] localApics;
    private final IoApic ioApic;
    private final Pic8259 pic;
    private final Runnable[] kicks;
    private final IrqLine[] isaLines = new IrqLine[ISA_IRQS];
    private final IrqLine[] gsiLines = new IrqLine[IoApic.PINS];
    private final MmioDevice localApicMmio = new MmioDevice() {
        @Override
        public long read(int vcpu, long offset, int size) {
            return localApics[vcpu].read(offset, size);
        }

        @Override
        public void write(int vcpu, long offset, int size, long value) {
            localApics[vcpu].write(offset, size, value);
        }
    };

    /**
     * @param tscHz the frequency the vCPUs' TSC counts at from guest time zero (for TSC-deadline timers)
     */
    public UserspaceIrqChip(int vcpuCount, TimerQueue timers, long tscHz) {
        apicBus = new ApicBus(vcpuCount);
        localApics = new LocalApic[vcpuCount];
        kicks = new Runnable[vcpuCount];
        ioApic = new IoApic(lock, apicBus);
        for (int i = 0; i < vcpuCount; i++) {
            int vcpu = i;
            kicks[i] = () -> {
            };
            localApics[i] = new LocalApic(lock, i, apicBus, timers, tscHz);
            localApics[i].setKick(() -> kicks[vcpu].run());
            localApics[i].setEoiBroadcast(ioApic::endOfInterrupt);
            apicBus.attach(localApics[i]);
        }
        pic = new Pic8259(lock, level -> {
            if (level) {
                kickPicReceivers();
            }
        });
        for (int irq = 0; irq < ISA_IRQS; irq++) {
            int isaIrq = irq;
            int pin = isaIrqToPin(irq);
            isaLines[irq] = level -> {
                synchronized (lock) {
                    pic.setIrq(isaIrq, level);
                    ioApic.setInput(pin, level);
                }
            };
        }
        for (int pin = 0; pin < IoApic.PINS; pin++) {
            gsiLines[pin] = ioApic.line(pin);
        }
        for (int irq = 0; irq < ISA_IRQS; irq++) {
            if (irq != Pic8259.CASCADE_IRQ) {
                gsiLines[isaIrqToPin(irq)] = isaLines[irq];
            }
        }
    }

    /** The I/O APIC pin ISA IRQ {@code irq} arrives on (ACPI MADT interrupt source override for IRQ0). */
    public static int isaIrqToPin(int irq) {
        return irq == 0 ? 2 : irq;
    }

    /** Maps the 8259 ports, ELCR, the I/O APIC and the local APIC page. */
    public void registerOn(PioBus pio, MmioBus mmio) {
        pio.register(Pic8259.MASTER_PORT, 2, pic.masterPorts());
        pio.register(Pic8259.SLAVE_PORT, 2, pic.slavePorts());
        pio.register(Pic8259.ELCR_PORT, 2, pic.elcrPorts());
        mmio.register(IoApic.DEFAULT_BASE, IoApic.MMIO_SIZE, ioApic);
        mmio.register(LocalApic.DEFAULT_BASE, LocalApic.PAGE_SIZE, localApicMmio);
    }

    public Pic8259 pic() {
        return pic;
    }

    public IoApic ioApic() {
        return ioApic;
    }

    public LocalApic localApic(int vcpu) {
        return localApics[vcpu];
    }

    public ApicBus apicBus() {
        return apicBus;
    }

    /** The per-vCPU register page at 0xFEE00000; the bus passes the accessing vCPU's index. */
    public MmioDevice localApicMmio() {
        return localApicMmio;
    }

    /** The line for ISA IRQ {@code irq}: 8259 input {@code irq} and its I/O APIC pin. */
    public IrqLine isaIrq(int irq) {
        return isaLines[irq];
    }

    private void kickPicReceivers() {
        for (int i = 0; i < localApics.length; i++) {
            if (localApics[i].acceptsPicInterrupts()) {
                kicks[i].run();
            }
        }
    }

    @Override
    public void setKick(int vcpu, Runnable kick) {
        kicks[vcpu] = kick;
    }

    @Override
    public boolean hasPendingInterrupt(int vcpu) {
        synchronized (lock) {
            LocalApic apic = localApics[vcpu];
            return apic.hasPendingInterrupt() || apic.acceptsPicInterrupts() && pic.hasInterrupt();
        }
    }

    @Override
    public int acknowledge(int vcpu) {
        synchronized (lock) {
            LocalApic apic = localApics[vcpu];
            if (!apic.hasPendingInterrupt() && apic.acceptsPicInterrupts() && pic.hasInterrupt()) {
                return pic.acknowledge();
            }
            return apic.acknowledge();
        }
    }

    @Override
    public void endOfInterrupt(int vcpu) {
        localApics[vcpu].endOfInterrupt();
    }

    @Override
    public boolean takeNmi(int vcpu) {
        return localApics[vcpu].takeNmi();
    }

    @Override
    public boolean takeInit(int vcpu) {
        return localApics[vcpu].takeInit();
    }

    @Override
    public int takeSipi(int vcpu) {
        return localApics[vcpu].takeSipi();
    }

    /** GSI {@code gsi} = I/O APIC pin {@code gsi}; pins fed by ISA IRQs drive the 8259 as well. */
    @Override
    public IrqLine gsi(int gsi) {
        return gsiLines[gsi];
    }

    @Override
    public void deliverMsi(MsiMessage message) {
        synchronized (lock) {
            int mode = message.deliveryMode();
            apicBus.deliver(message.destinationId(), message.logicalDestination(),
                    message.redirectionHint() && mode == LocalApic.DELIVERY_FIXED ? LocalApic.DELIVERY_LOWEST_PRIORITY
                            : mode,
                    message.vector(), message.levelTriggered());
        }
    }

    @Override
    public boolean handlesMsr(int msr) {
        return msr == LocalApic.MSR_IA32_APIC_BASE || msr == LocalApic.MSR_IA32_TSC_DEADLINE
                || msr >= LocalApic.MSR_X2APIC_FIRST && msr <= LocalApic.MSR_X2APIC_LAST;
    }

    @Override
    public long readMsr(int vcpu, int msr) {
        LocalApic apic = localApics[vcpu];
        return switch (msr) {
            case LocalApic.MSR_IA32_APIC_BASE -> apic.apicBaseMsr();
            case LocalApic.MSR_IA32_TSC_DEADLINE -> apic.tscDeadline();
            default -> apic.readX2ApicMsr(msr);
        };
    }

    @Override
    public void writeMsr(int vcpu, int msr, long value) {
        LocalApic apic = localApics[vcpu];
        switch (msr) {
            case LocalApic.MSR_IA32_APIC_BASE -> apic.setApicBaseMsr(value);
            case LocalApic.MSR_IA32_TSC_DEADLINE -> apic.setTscDeadline(value);
            default -> apic.writeX2ApicMsr(msr, value);
        }
    }

    @Override
    public UserspaceIrqChipState save() {
        synchronized (lock) {
            LocalApicState[] apics = new LocalApicState[localApics.length];
            for (int i = 0; i < apics.length; i++) {
                apics[i] = localApics[i].save();
            }
            return new UserspaceIrqChipState(UserspaceIrqChipState.VERSION, pic.save(), ioApic.save(), apics);
        }
    }

    @Override
    public void restore(UserspaceIrqChipState s) {
        if (s.version() != UserspaceIrqChipState.VERSION || s.localApics().length != localApics.length) {
            throw new IllegalArgumentException("UserspaceIrqChipState version " + s.version() + " for "
                    + s.localApics().length + " vCPUs does not fit this machine of " + localApics.length);
        }
        synchronized (lock) {
            pic.restore(s.pic());
            ioApic.restore(s.ioApic());
            for (int i = 0; i < localApics.length; i++) {
                localApics[i].restore(s.localApics()[i]);
            }
        }
    }
}
