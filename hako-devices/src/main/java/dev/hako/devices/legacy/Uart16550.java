package dev.hako.devices.legacy;

import dev.hako.core.state.Snapshotable;
import dev.hako.core.bus.PioDevice;
import dev.hako.core.irq.IrqLine;
import dev.hako.devices.backend.CharBackend;
import dev.hako.devices.backend.CharFrontend;

/**
 * National Semiconductor PC16550D UART (datasheet, "Registers" section, tables 2-9) as the PC's COM port:
 * eight I/O ports from a base such as 0x3F8.
 *
 * <p>Implemented: RBR/THR, IER, IIR with the datasheet's interrupt priorities (line status, received data
 * or character timeout, THR empty, modem status), FCR with 16-byte receive FIFO and trigger levels, LCR with
 * the DLAB divisor latch, MCR, LSR, MSR with delta bits, SCR, and loopback mode (THR feeds RBR, MCR outputs
 * feed MSR inputs). The THRE interrupt is re-raised when ETBEI goes from 0 to 1 with THR empty, as Linux's
 * 8250 driver probes for.
 *
 * <p>Not implemented: line timing (the divisor is stored, bytes move instantly, so THR is always empty and
 * LSR_TEMT always set), parity/framing/break errors from the host side, the character-timeout delay (a
 * partial FIFO reports the timeout interrupt at once), DMA mode signals. As on QEMU, MCR OUT2 does not gate
 * the interrupt output. Outside loopback the modem inputs read as carrier, DSR and CTS asserted.
 *
 * <p>Flow control toward the host: the host's bytes are taken only while the guest is listening, that is holds
 * DTR and RTS up (what a terminal or modem on a real line waits for), is not in loopback, and has enabled the
 * received-data interrupt (IER.ERBFI), and only while the receive FIFO has room; otherwise {@link #receive} says
 * no and the host keeps the byte. The interrupt enable is part of the rule because Linux raises DTR and RTS
 * early (earlyprintk) and again in its 8250 startup before it clears the FIFOs and reads RBR "for luck", and
 * enables ERBFI only after that: input piped in before the guest's driver opens the port is then neither eaten
 * by the probing nor overrun. A guest that polls LSR without enabling the interrupt gets no host input.
 *
 * <p>Guest control: everything the registers offer; it cannot make the device allocate or block beyond the
 * backend's write of one byte per THR write.
 */
public final class Uart16550 implements Snapshotable<Uart16550State>, PioDevice, CharFrontend {
    public static final int COM1_PORT = 0x3F8;
    public static final int COM1_IRQ = 4;
    public static final int PORT_COUNT = 8;

    // Register offsets (DLAB in parentheses).
    public static final int RBR_THR = 0; // (DLL)
    public static final int IER = 1; // (DLM)
    public static final int IIR_FCR = 2;
    public static final int LCR = 3;
    public static final int MCR = 4;
    public static final int LSR = 5;
    public static final int MSR = 6;
    public static final int SCR = 7;

    public static final int IER_ERBFI = 0x01;
    public static final int IER_ETBEI = 0x02;
    public static final int IER_ELSI = 0x04;
    public static final int IER_EDSSI = 0x08;

    public static final int IIR_NO_INTERRUPT = 0x01;
    public static final int IIR_MODEM_STATUS = 0x00;
    public static final int IIR_THR_EMPTY = 0x02;
    public static final int IIR_RECEIVED_DATA = 0x04;
    public static final int IIR_LINE_STATUS = 0x06;
    public static final int IIR_CHARACTER_TIMEOUT = 0x0C;
    public static final int IIR_FIFOS_ENABLED = 0xC0;

    public static final int FCR_FIFO_ENABLE = 0x01;
    public static final int FCR_CLEAR_RX = 0x02;
    public static final int FCR_CLEAR_TX = 0x04;

    public static final int LCR_DLAB = 0x80;

    public static final int MCR_DTR = 0x01;
    public static final int MCR_RTS = 0x02;
    public static final int MCR_OUT1 = 0x04;
    public static final int MCR_OUT2 = 0x08;
    public static final int MCR_LOOP = 0x10;

    public static final int LSR_DR = 0x01;
    public static final int LSR_OE = 0x02;
    public static final int LSR_PE = 0x04;
    public static final int LSR_FE = 0x08;
    public static final int LSR_BI = 0x10;
    public static final int LSR_THRE = 0x20;
    public static final int LSR_TEMT = 0x40;

    public static final int MSR_DCTS = 0x01;
    public static final int MSR_DDSR = 0x02;
    public static final int MSR_TERI = 0x04;
    public static final int MSR_DDCD = 0x08;
    public static final int MSR_CTS = 0x10;
    public static final int MSR_DSR = 0x20;
    public static final int MSR_RI = 0x40;
    public static final int MSR_DCD = 0x80;

    private static final int FIFO_SIZE = 16;
    private static final int[] TRIGGER_LEVELS = {1, 4, 8, 14};
    private static final int EXTERNAL_MODEM_INPUTS = MSR_DCD | MSR_DSR | MSR_CTS;

    private final IrqLine irq;
    private final CharBackend backend;
    private final byte[] rxFifo = new byte[FIFO_SIZE];
    private int rxHead;
    private int rxCount;

    private int divisor = 12; // 9600 baud, what a BIOS leaves behind
    private int ier;
    private int lcr;
    private int mcr;
    private int lineErrors; // OE PE FE BI, cleared by reading LSR
    private int modemDeltas; // MSR bits 3:0, cleared by reading MSR
    private int scratch;
    private int fcr;
    private boolean thrInterrupt;
    private boolean irqLevel;

    public Uart16550(IrqLine irq, CharBackend backend) {
        this.irq = irq;
        this.backend = backend;
        backend.attach(this);
    }

    @Override
    public synchronized long read(int vcpu, long offset, int size) {
        boolean dlab = (lcr & LCR_DLAB) != 0;
        int value = switch ((int) offset) {
            case RBR_THR -> dlab ? divisor & 0xFF : readReceiveBuffer();
            case IER -> dlab ? divisor >>> 8 : ier;
            case IIR_FCR -> readInterruptIdentification();
            case LCR -> lcr;
            case MCR -> mcr;
            case LSR -> readLineStatus();
            case MSR -> readModemStatus();
            case SCR -> scratch;
            default -> 0xFF;
        };
        updateIrq();
        return value;
    }

    @Override
    public synchronized void write(int vcpu, long offset, int size, long value) {
        int v = (int) value & 0xFF;
        boolean dlab = (lcr & LCR_DLAB) != 0;
        switch ((int) offset) {
            case RBR_THR -> {
                if (dlab) {
                    divisor = divisor & 0xFF00 | v;
                } else {
                    transmit(v);
                }
            }
            case IER -> {
                if (dlab) {
                    divisor = divisor & 0x00FF | v << 8;
                } else {
                    writeInterruptEnable(v);
                }
            }
            case IIR_FCR -> writeFifoControl(v);
            case LCR -> lcr = v;
            case MCR -> writeModemControl(v & 0x1F);
            case SCR -> scratch = v;
            default -> {
                // LSR and MSR are read-only (writes are a factory test mode).
            }
        }
        updateIrq();
    }

    // ---- host side ----

    @Override
    public synchronized boolean receive(int b) {
        if (!readyToReceive() || rxCount == capacity()) {
            return false;
        }
        pushReceived(b);
        updateIrq();
        return true;
    }

    @Override
    public synchronized int receiveSpace() {
        return readyToReceive() ? capacity() - rxCount : 0;
    }

    /**
     * DTR and RTS up, no loopback (which disconnects the receiver from the line), the received-data interrupt
     * enabled: the guest's driver has opened the port, and the host may send.
     */
    private boolean readyToReceive() {
        return (mcr & (MCR_DTR | MCR_RTS | MCR_LOOP)) == (MCR_DTR | MCR_RTS) && (ier & IER_ERBFI) != 0;
    }

    // ---- registers ----

    private int readReceiveBuffer() {
        if (rxCount == 0) {
            return 0;
        }
        int b = rxFifo[rxHead] & 0xFF;
        rxHead = (rxHead + 1) % FIFO_SIZE;
        rxCount--;
        return b;
    }

    private void transmit(int b) {
        if ((mcr & MCR_LOOP) != 0) {
            if (rxCount == capacity()) {
                lineErrors |= LSR_OE;
            } else {
                pushReceived(b);
            }
        } else {
            backend.write(b);
        }
        // The byte left THR at once, so THR is empty again: that is the THRE interrupt condition.
        thrInterrupt = true;
    }

    private void writeInterruptEnable(int v) {
        int old = ier;
        ier = v & 0x0F;
        if ((ier & IER_ETBEI) != 0 && (old & IER_ETBEI) == 0) {
            thrInterrupt = true; // THR is always empty here
        } else if ((ier & IER_ETBEI) == 0) {
            thrInterrupt = false;
        }
    }

    private void writeFifoControl(int v) {
        boolean enable = (v & FCR_FIFO_ENABLE) != 0;
        if (enable != fifoEnabled() || (v & FCR_CLEAR_RX) != 0) {
            rxHead = 0;
            rxCount = 0;
        }
        // Bits 1 and 2 self-clear; bit 3 (DMA mode) and the trigger level are kept.
        fcr = enable ? v & 0xC9 : 0;
    }

    private void writeModemControl(int v) {
        int before = modemInputs();
        mcr = v;
        int after = modemInputs();
        int changed = before ^ after;
        if ((changed & MSR_CTS) != 0) {
            modemDeltas |= MSR_DCTS;
        }
        if ((changed & MSR_DSR) != 0) {
            modemDeltas |= MSR_DDSR;
        }
        if ((before & MSR_RI) != 0 && (after & MSR_RI) == 0) {
            modemDeltas |= MSR_TERI;
        }
        if ((changed & MSR_DCD) != 0) {
            modemDeltas |= MSR_DDCD;
        }
    }

    private int readInterruptIdentification() {
        int id = pendingInterrupt();
        if (id == IIR_THR_EMPTY) {
            thrInterrupt = false; // reading IIR with THRE as the source clears it
        }
        return id | (fifoEnabled() ? IIR_FIFOS_ENABLED : 0);
    }

    private int readLineStatus() {
        int lsr = LSR_THRE | LSR_TEMT | lineErrors | (rxCount > 0 ? LSR_DR : 0);
        lineErrors = 0;
        return lsr;
    }

    private int readModemStatus() {
        int msr = modemInputs() | modemDeltas;
        modemDeltas = 0;
        return msr;
    }

    /** MSR bits 7:4: wired to MCR outputs in loopback, to an always-ready host otherwise. */
    private int modemInputs() {
        if ((mcr & MCR_LOOP) == 0) {
            return EXTERNAL_MODEM_INPUTS;
        }
        return ((mcr & MCR_RTS) != 0 ? MSR_CTS : 0)
                | ((mcr & MCR_DTR) != 0 ? MSR_DSR : 0)
                | ((mcr & MCR_OUT1) != 0 ? MSR_RI : 0)
                | ((mcr & MCR_OUT2) != 0 ? MSR_DCD : 0);
    }

    /** The highest-priority enabled interrupt source, as IIR bits 3:0. */
    private int pendingInterrupt() {
        if ((ier & IER_ELSI) != 0 && lineErrors != 0) {
            return IIR_LINE_STATUS;
        }
        if ((ier & IER_ERBFI) != 0 && rxCount > 0) {
            return fifoEnabled() && rxCount < triggerLevel() ? IIR_CHARACTER_TIMEOUT : IIR_RECEIVED_DATA;
        }
        if ((ier & IER_ETBEI) != 0 && thrInterrupt) {
            return IIR_THR_EMPTY;
        }
        if ((ier & IER_EDSSI) != 0 && modemDeltas != 0) {
            return IIR_MODEM_STATUS;
        }
        return IIR_NO_INTERRUPT;
    }

    private void updateIrq() {
        boolean level = pendingInterrupt() != IIR_NO_INTERRUPT;
        if (level != irqLevel) {
            irqLevel = level;
            irq.set(level);
        }
    }

    private void pushReceived(int b) {
        rxFifo[(rxHead + rxCount) % FIFO_SIZE] = (byte) b;
        rxCount++;
    }

    private boolean fifoEnabled() {
        return (fcr & FCR_FIFO_ENABLE) != 0;
    }

    private int capacity() {
        return fifoEnabled() ? FIFO_SIZE : 1;
    }

    private int triggerLevel() {
        return TRIGGER_LEVELS[fcr >>> 6];
    }

    // ---- snapshot ----

    @Override
    public synchronized Uart16550State save() {
        byte[] received = new byte[rxCount];
        for (int i = 0; i < rxCount; i++) {
            received[i] = rxFifo[(rxHead + i) % FIFO_SIZE];
        }
        return new Uart16550State(Uart16550State.VERSION, divisor, ier, lcr, mcr, lineErrors, modemDeltas, scratch,
                fcr, thrInterrupt, received);
    }

    @Override
    public synchronized void restore(Uart16550State s) {
        if (s.version() != Uart16550State.VERSION) {
            throw new IllegalArgumentException("unsupported Uart16550State version " + s.version());
        }
        divisor = s.divisor();
        ier = s.ier();
        lcr = s.lcr();
        mcr = s.mcr();
        lineErrors = s.lineErrors();
        modemDeltas = s.modemDeltas();
        scratch = s.scratch();
        fcr = s.fcr();
        thrInterrupt = s.thrInterrupt();
        rxHead = 0;
        rxCount = Math.min(s.received().length, FIFO_SIZE);
        System.arraycopy(s.received(), 0, rxFifo, 0, rxCount);
        updateIrq();
    }
}
