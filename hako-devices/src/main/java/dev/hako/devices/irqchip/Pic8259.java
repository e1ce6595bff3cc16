package dev.hako.devices.irqchip;

import dev.hako.core.state.Snapshotable;
import dev.hako.core.bus.PioDevice;
import dev.hako.core.irq.IrqLine;

/**
 * The PC/AT's cascaded pair of Intel 8259A programmable interrupt controllers (8259A datasheet, "Programming
 * the 8259A": ICW1-ICW4, OCW1-OCW3), with the slave on the master's IRQ2, plus the PIIX/ICH edge/level
 * control registers (ELCR) at ports 0x4D0/0x4D1.
 *
 * <p>Implemented: the initialisation sequence with single/cascade and ICW4 detection, vector base, auto-EOI
 * with rotation, special fully nested mode, interrupt mask, non-specific/specific EOI with and without
 * rotation, set-priority, IRR/ISR reads, poll mode, special mask mode, edge detection or level sensitivity
 * per line from ELCR, spurious IRQ7/IRQ15 on acknowledge without a request.
 *
 * <p>Not implemented: ICW1's LTIM bit (level mode comes from ELCR as on every PCI-era chipset), the 8080/85
 * call-address mode, buffered mode (ICW4 bits 2-3 are accepted and ignored).
 *
 * <p>Guest control: all of the above through ports 0x20/0x21, 0xA0/0xA1 and 0x4D0/0x4D1; ELCR bits for IRQ
 * 0, 1, 2, 8 and 13 are hard-wired to edge.
 */
public final class Pic8259 implements Snapshotable<Pic8259State> {
    public static final int MASTER_PORT = 0x20;
    public static final int SLAVE_PORT = 0xA0;
    public static final int ELCR_PORT = 0x4D0;
    public static final int CASCADE_IRQ = 2;

    /** One chip; all access happens under the pair's lock. */
    static final class Chip {
        int lastInputs;
        int irr;
        int imr;
        int isr;
        int priorityAdd;
        int vectorBase;
        boolean readIsr;
        boolean poll;
        boolean specialMask;
        int initStep;
        boolean autoEoi;
        boolean rotateOnAutoEoi;
        boolean specialFullyNested;
        boolean expectIcw4;
        boolean single;
        int elcr;
        final int elcrMask;
        final boolean isMaster;

        Chip(int elcrMask, boolean isMaster) {
            this.elcrMask = elcrMask;
            this.isMaster = isMaster;
        }

        /** Priority level (0 highest) of the best bit in {@code mask}, 8 when none, honouring rotation. */
        int priority(int mask) {
            if ((mask & 0xFF) == 0) {
                return 8;
            }
            int p = 0;
            while ((mask & (1 << ((p + priorityAdd) & 7))) == 0) {
                p++;
            }
            return p;
        }

        /** The IRQ this chip would present to its output, or -1. */
        int bestRequest() {
            int requestPriority = priority(irr & ~imr);
            if (requestPriority == 8) {
                return -1;
            }
            int inService = isr;
            if (specialMask) {
                inService &= ~imr;
            }
            if (specialFullyNested && isMaster) {
                inService &= ~(1 << CASCADE_IRQ); // let the slave nest higher-priority requests
            }
            return requestPriority < priority(inService) ? (requestPriority + priorityAdd) & 7 : -1;
        }

        void input(int irq, boolean level) {
            int mask = 1 << irq;
            if ((elcr & mask) != 0) {
                if (level) {
                    irr |= mask;
                    lastInputs |= mask;
                } else {
                    irr &= ~mask;
                    lastInputs &= ~mask;
                }
            } else if (level) {
                if ((lastInputs & mask) == 0) {
                    irr |= mask;
                }
                lastInputs |= mask;
            } else {
                lastInputs &= ~mask;
            }
        }

        void acknowledge(int irq) {
            if (autoEoi) {
                if (rotateOnAutoEoi) {
                    priorityAdd = (irq + 1) & 7;
                }
            } else {
                isr |= 1 << irq;
            }
            if ((elcr & (1 << irq)) == 0) {
                irr &= ~(1 << irq); // a level-triggered request stays until the device drops it
            }
        }

        void initReset() {
            lastInputs = 0;
            irr &= elcr;
            imr = 0;
            isr = 0;
            priorityAdd = 0;
            vectorBase = 0;
            readIsr = false;
            poll = false;
            specialMask = false;
            initStep = 0;
            autoEoi = false;
            rotateOnAutoEoi = false;
            specialFullyNested = false;
            expectIcw4 = false;
            single = false;
        }

        void writeCommand(int v) {
            if ((v & 0x10) != 0) { // ICW1
                initReset();
                initStep = 1;
                expectIcw4 = (v & 0x01) != 0;
                single = (v & 0x02) != 0;
            } else if ((v & 0x08) != 0) { // OCW3
                if ((v & 0x04) != 0) {
                    poll = true;
                }
                if ((v & 0x02) != 0) {
                    readIsr = (v & 0x01) != 0;
                }
                if ((v & 0x40) != 0) {
                    specialMask = (v & 0x20) != 0;
                }
            } else { // OCW2
                writeOcw2(v);
            }
        }

        private void writeOcw2(int v) {
            int command = v >>> 5;
            switch (command) {
                case 0, 4 -> rotateOnAutoEoi = command == 4;
                case 1, 5 -> { // non-specific EOI, optionally rotating
                    int p = priority(isr);
                    if (p != 8) {
                        int irq = (p + priorityAdd) & 7;
                        isr &= ~(1 << irq);
                        if (command == 5) {
                            priorityAdd = (irq + 1) & 7;
                        }
                    }
                }
                case 3 -> isr &= ~(1 << (v & 7));
                case 6 -> priorityAdd = (v + 1) & 7;
                case 7 -> {
                    isr &= ~(1 << (v & 7));
                    priorityAdd = ((v & 7) + 1) & 7;
                }
                default -> {
                    // 2: no operation
                }
            }
        }

        void writeData(int v) {
            switch (initStep) {
                case 0 -> imr = v;
                case 1 -> {
                    vectorBase = v & 0xF8;
                    initStep = single ? (expectIcw4 ? 3 : 0) : 2;
                }
                case 2 -> initStep = expectIcw4 ? 3 : 0; // ICW3: the cascade wiring is fixed
                default -> {
                    specialFullyNested = (v & 0x10) != 0;
                    autoEoi = (v & 0x02) != 0;
                    initStep = 0;
                }
            }
        }

        int readCommand() {
            if (poll) {
                poll = false;
                int irq = bestRequest();
                if (irq < 0) {
                    return 0;
                }
                acknowledge(irq);
                return 0x80 | irq;
            }
            return readIsr ? isr : irr;
        }

        Pic8259State.Chip state() {
            return new Pic8259State.Chip(lastInputs, irr, imr, isr, priorityAdd, vectorBase, readIsr, poll,
                    specialMask, initStep, autoEoi, rotateOnAutoEoi, specialFullyNested, expectIcw4, single, elcr);
        }

        void restore(Pic8259State.Chip s) {
            lastInputs = s.lastInputs();
            irr = s.irr();
            imr = s.imr();
            isr = s.isr();
            priorityAdd = s.priorityAdd();
            vectorBase = s.vectorBase();
            readIsr = s.readIsr();
            poll = s.poll();
            specialMask = s.specialMask();
            initStep = s.initStep();
            autoEoi = s.autoEoi();
            rotateOnAutoEoi = s.rotateOnAutoEoi();
            specialFullyNested = s.specialFullyNested();
            expectIcw4 = s.expectIcw4();
            single = s.single();
            elcr = s.elcr() & elcrMask;
        }
    }

    /** Two ports of one chip: offset 0 is command/IRR/ISR, offset 1 is data/IMR. */
    private final class ChipPorts implements PioDevice {
        private final Chip chip;

        ChipPorts(Chip chip) {
            this.chip = chip;
        }

        @Override
        public long read(int vcpu, long offset, int size) {
            synchronized (lock) {
                boolean wasPoll = chip.poll;
                int v = offset == 0 || wasPoll ? chip.readCommand() : chip.imr;
                if (wasPoll) {
                    update();
                }
                return v;
            }
        }

        @Override
        public void write(int vcpu, long offset, int size, long value) {
            synchronized (lock) {
                if (offset == 0) {
                    chip.writeCommand((int) value & 0xFF);
                } else {
                    chip.writeData((int) value & 0xFF);
                }
                update();
            }
        }
    }

    /** ELCR1 (master) at offset 0, ELCR2 (slave) at offset 1. */
    private final class ElcrPorts implements PioDevice {
        @Override
        public long read(int vcpu, long offset, int size) {
            synchronized (lock) {
                return offset == 0 ? master.elcr : slave.elcr;
            }
        }

        @Override
        public void write(int vcpu, long offset, int size, long value) {
            synchronized (lock) {
                Chip chip = offset == 0 ? master : slave;
                chip.elcr = (int) value & chip.elcrMask;
                update();
            }
        }
    }

    private final Object lock;
    private final IrqLine output;
    private final Chip master = new Chip(0xF8, true);
    private final Chip slave = new Chip(0xDE, false);
    private final PioDevice masterPorts = new ChipPorts(master);
    private final PioDevice slavePorts = new ChipPorts(slave);
    private final PioDevice elcrPorts = new ElcrPorts();
    private final IrqLine[] lines = new IrqLine[16];
    private boolean outputLevel;

    /**
     * @param lock shared by every interrupt controller of the machine, so that PIC, IOAPIC and local APICs
     *     never take each other's locks in different orders
     * @param output the master's INT pin (to the BSP's LINT0 or straight to the CPU)
     */
    public Pic8259(Object lock, IrqLine output) {
        this.lock = lock;
        this.output = output;
        for (int i = 0; i < 16; i++) {
            int irq = i;
            lines[i] = level -> setIrq(irq, level);
        }
    }

    public PioDevice masterPorts() {
        return masterPorts;
    }

    public PioDevice slavePorts() {
        return slavePorts;
    }

    public PioDevice elcrPorts() {
        return elcrPorts;
    }

    /** The input line for ISA IRQ {@code irq} (0-15). */
    public IrqLine line(int irq) {
        return lines[irq];
    }

    public void setIrq(int irq, boolean level) {
        synchronized (lock) {
            if (irq < 8) {
                master.input(irq, level);
            } else {
                slave.input(irq - 8, level);
            }
            update();
        }
    }

    /** The master's INT output. */
    public boolean hasInterrupt() {
        synchronized (lock) {
            return master.bestRequest() >= 0;
        }
    }

    /** The INTA cycle: returns the vector and moves the request in service; spurious IRQ7/IRQ15 if none. */
    public int acknowledge() {
        synchronized (lock) {
            int irq = master.bestRequest();
            int vector;
            if (irq < 0) {
                vector = master.vectorBase + 7;
            } else {
                if (irq == CASCADE_IRQ) {
                    int slaveIrq = slave.bestRequest();
                    if (slaveIrq >= 0) {
                        slave.acknowledge(slaveIrq);
                    } else {
                        slaveIrq = 7;
                    }
                    vector = slave.vectorBase + slaveIrq;
                } else {
                    vector = master.vectorBase + irq;
                }
                master.acknowledge(irq);
            }
            update();
            return vector;
        }
    }

    /** Recomputes the cascade input and the output pin. Called with the lock held. */
    private void update() {
        master.input(CASCADE_IRQ, slave.bestRequest() >= 0);
        boolean level = master.bestRequest() >= 0;
        if (level != outputLevel) {
            outputLevel = level;
            output.set(level);
        }
    }

    @Override
    public Pic8259State save() {
        synchronized (lock) {
            return new Pic8259State(Pic8259State.VERSION, master.state(), slave.state());
        }
    }

    @Override
    public void restore(Pic8259State s) {
        if (s.version() != Pic8259State.VERSION) {
            throw new IllegalArgumentException("unsupported Pic8259State version " + s.version());
        }
        synchronized (lock) {
            master.restore(s.master());
            slave.restore(s.slave());
            update();
        }
    }
}
