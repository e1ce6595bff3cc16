package dev.hako.devices.legacy;

import dev.hako.core.state.Snapshotable;
import dev.hako.core.bus.PioDevice;
import dev.hako.core.irq.IrqLine;

/**
 * The PS/2 keyboard controller (Intel 8042 as programmed on the PC/AT: IBM "Keyboard/Auxiliary Device
 * Controller" technical reference, commands 0x20-0xFF on port 0x64, data on port 0x60) with no keyboard or
 * mouse attached. It exists for two reasons: the reset line (command 0xFE, or output port bit 0 through
 * 0xD1) and Linux's i8042 probe, which should conclude quickly that nothing is connected.
 *
 * <p>Implemented: status register (OBF, SYS, A2, inhibit switch, aux-data, timeout), command byte read and
 * write (0x20/0x60) and the other RAM bytes (0x21-0x3F, 0x61-0x7F), self test (0xAA answers 0x55), keyboard
 * interface test (0xAB answers 0), aux interface test (0xA9 answers 0x01, "clock line stuck low"), port
 * enable/disable (0xA7/0xA8/0xAD/0xAE reflected in the command byte), output port read/write (0xD0/0xD1;
 * A20 is recorded, bit 0 low resets), writes to the keyboard/aux output buffers (0xD2/0xD3; the aux echo is
 * returned without the aux flag, which Linux's loop test reads as "no aux port"), pulse output lines
 * (0xF0-0xFF; bit 0 low resets). A byte sent to the absent keyboard or mouse is answered with 0xFE and the
 * timeout bit, as a real controller does when the device does not clock it in. IRQ1/IRQ12 follow the
 * output buffer when enabled in the command byte.
 *
 * <p>Not implemented: keyboards and mice themselves, scan-code translation, password and test-port commands
 * (they are ignored).
 *
 * <p>Guest control: the commands above; output is queued (at most {@link #QUEUE_SIZE} bytes, older bytes
 * win).
 */
public final class I8042 implements Snapshotable<I8042State> {
    public static final int DATA_PORT = 0x60;
    public static final int COMMAND_PORT = 0x64;
    public static final int KEYBOARD_IRQ = 1;
    public static final int AUX_IRQ = 12;
    public static final int QUEUE_SIZE = 16;

    public static final int STATUS_OBF = 0x01;
    public static final int STATUS_IBF = 0x02;
    public static final int STATUS_SYS = 0x04;
    public static final int STATUS_A2 = 0x08;
    public static final int STATUS_UNINHIBITED = 0x10;
    public static final int STATUS_AUX_DATA = 0x20;
    public static final int STATUS_TIMEOUT = 0x40;

    public static final int CTR_KBD_INT = 0x01;
    public static final int CTR_AUX_INT = 0x02;
    public static final int CTR_SYS = 0x04;
    public static final int CTR_KBD_DISABLE = 0x10;
    public static final int CTR_AUX_DISABLE = 0x20;
    public static final int CTR_XLATE = 0x40;

    public static final int CMD_READ_CTR = 0x20;
    public static final int CMD_WRITE_CTR = 0x60;
    public static final int CMD_AUX_DISABLE = 0xA7;
    public static final int CMD_AUX_ENABLE = 0xA8;
    public static final int CMD_AUX_TEST = 0xA9;
    public static final int CMD_SELF_TEST = 0xAA;
    public static final int CMD_KBD_TEST = 0xAB;
    public static final int CMD_KBD_DISABLE = 0xAD;
    public static final int CMD_KBD_ENABLE = 0xAE;
    public static final int CMD_READ_OUTPUT_PORT = 0xD0;
    public static final int CMD_WRITE_OUTPUT_PORT = 0xD1;
    public static final int CMD_WRITE_KBD_BUFFER = 0xD2;
    public static final int CMD_WRITE_AUX_BUFFER = 0xD3;
    public static final int CMD_WRITE_AUX = 0xD4;
    public static final int CMD_PULSE_RESET = 0xFE;

    public static final int OUTPUT_PORT_RESET = 0x01; // active low
    public static final int OUTPUT_PORT_A20 = 0x02;

    public static final int SELF_TEST_PASSED = 0x55;
    public static final int NO_DEVICE_RESPONSE = 0xFE;

    private static final int FROM_AUX = 0x100;
    private static final int TIMED_OUT = 0x200;
    private static final int NO_PENDING_COMMAND = -1;

    private final IrqLine keyboardIrq;
    private final IrqLine auxIrq;
    private final Runnable resetRequest;
    private final byte[] ram = new byte[32];
    private final int[] queue = new int[QUEUE_SIZE];
    private int queueHead;
    private int queueCount;
    private int outputPort = OUTPUT_PORT_RESET | OUTPUT_PORT_A20;
    private boolean systemFlag = true; // as left by a BIOS's power-on self test
    private boolean lastWriteWasCommand;
    private int pendingCommand = NO_PENDING_COMMAND;
    private int lastData;
    private boolean keyboardLevel;
    private boolean auxLevel;

    private final PioDevice dataPort = new PioDevice() {
        @Override
        public long read(int vcpu, long offset, int size) {
            return readData();
        }

        @Override
        public void write(int vcpu, long offset, int size, long value) {
            writeData((int) value & 0xFF);
        }
    };

    private final PioDevice commandPort = new PioDevice() {
        @Override
        public long read(int vcpu, long offset, int size) {
            return readStatus();
        }

        @Override
        public void write(int vcpu, long offset, int size, long value) {
            writeCommand((int) value & 0xFF);
        }
    };

    /** @param resetRequest called when the guest pulls the CPU reset line */
    public I8042(IrqLine keyboardIrq, IrqLine auxIrq, Runnable resetRequest) {
        this.keyboardIrq = keyboardIrq;
        this.auxIrq = auxIrq;
        this.resetRequest = resetRequest;
        ram[0] = (byte) (CTR_KBD_INT | CTR_SYS | CTR_XLATE);
    }

    /** Port 0x60. */
    public PioDevice dataPort() {
        return dataPort;
    }

    /** Port 0x64: status on read, command on write. */
    public PioDevice commandPort() {
        return commandPort;
    }

    /** The A20 gate as set through the output port. */
    public synchronized boolean a20Enabled() {
        return (outputPort & OUTPUT_PORT_A20) != 0;
    }

    private synchronized int readStatus() {
        int status = STATUS_UNINHIBITED | (systemFlag ? STATUS_SYS : 0) | (lastWriteWasCommand ? STATUS_A2 : 0);
        if (queueCount > 0) {
            int head = queue[queueHead];
            status |= STATUS_OBF | ((head & FROM_AUX) != 0 ? STATUS_AUX_DATA : 0)
                    | ((head & TIMED_OUT) != 0 ? STATUS_TIMEOUT : 0);
        }
        return status;
    }

    private synchronized int readData() {
        if (queueCount > 0) {
            lastData = queue[queueHead] & 0xFF;
            queueHead = (queueHead + 1) % QUEUE_SIZE;
            queueCount--;
            updateIrqs();
        }
        return lastData;
    }

    private synchronized void writeCommand(int command) {
        lastWriteWasCommand = true;
        pendingCommand = NO_PENDING_COMMAND;
        if (command >= 0x20 && command < 0x40) {
            enqueue(ram[command - 0x20] & 0xFF);
        } else if (command >= 0x60 && command < 0x80 || command >= CMD_WRITE_OUTPUT_PORT && command <= CMD_WRITE_AUX) {
            pendingCommand = command;
        } else if (command >= 0xF0) {
            if ((command & OUTPUT_PORT_RESET) == 0) {
                resetRequest.run();
            }
        } else {
            switch (command) {
                case CMD_AUX_DISABLE -> ram[0] |= CTR_AUX_DISABLE;
                case CMD_AUX_ENABLE -> ram[0] &= ~CTR_AUX_DISABLE;
                case CMD_AUX_TEST -> enqueue(0x01);
                case CMD_SELF_TEST -> {
                    systemFlag = true;
                    enqueue(SELF_TEST_PASSED);
                }
                case CMD_KBD_TEST -> enqueue(0x00);
                case CMD_KBD_DISABLE -> ram[0] |= CTR_KBD_DISABLE;
                case CMD_KBD_ENABLE -> ram[0] &= ~CTR_KBD_DISABLE;
                case CMD_READ_OUTPUT_PORT -> enqueue(outputPort);
                default -> {
                    // password, test-port and vendor commands: nothing answers
                }
            }
        }
        updateIrqs();
    }

    private synchronized void writeData(int b) {
        lastWriteWasCommand = false;
        int command = pendingCommand;
        pendingCommand = NO_PENDING_COMMAND;
        if (command >= 0x60 && command < 0x80) {
            ram[command - 0x60] = (byte) b;
            if (command == CMD_WRITE_CTR) {
                systemFlag = (b & CTR_SYS) != 0;
            }
        } else if (command == CMD_WRITE_OUTPUT_PORT) {
            outputPort = b;
            if ((b & OUTPUT_PORT_RESET) == 0) {
                resetRequest.run();
            }
        } else if (command == CMD_WRITE_KBD_BUFFER) {
            enqueue(b);
        } else if (command == CMD_WRITE_AUX_BUFFER) {
            enqueue(b); // without FROM_AUX: there is no aux port to loop through
        } else {
            // A byte for the keyboard (or, after 0xD4, the mouse): nobody clocks it in.
            enqueue(NO_DEVICE_RESPONSE | TIMED_OUT | (command == CMD_WRITE_AUX ? FROM_AUX : 0));
        }
        updateIrqs();
    }

    private void enqueue(int entry) {
        if (queueCount < QUEUE_SIZE) {
            queue[(queueHead + queueCount) % QUEUE_SIZE] = entry;
            queueCount++;
        }
    }

    private void updateIrqs() {
        boolean full = queueCount > 0;
        boolean fromAux = full && (queue[queueHead] & FROM_AUX) != 0;
        boolean keyboard = full && !fromAux && (ram[0] & CTR_KBD_INT) != 0;
        boolean aux = fromAux && (ram[0] & CTR_AUX_INT) != 0;
        if (keyboard != keyboardLevel) {
            keyboardLevel = keyboard;
            keyboardIrq.set(keyboard);
        }
        if (aux != auxLevel) {
            auxLevel = aux;
            auxIrq.set(aux);
        }
    }

    @Override
    public synchronized I8042State save() {
        int[] output = new int[queueCount];
        for (int i = 0; i < queueCount; i++) {
            output[i] = queue[(queueHead + i) % QUEUE_SIZE];
        }
        return new I8042State(I8042State.VERSION, ram.clone(), outputPort, systemFlag, lastWriteWasCommand,
                pendingCommand, lastData, output);
    }

    @Override
    public synchronized void restore(I8042State s) {
        if (s.version() != I8042State.VERSION) {
            throw new IllegalArgumentException("unsupported I8042State version " + s.version());
        }
        System.arraycopy(s.ram(), 0, ram, 0, ram.length);
        outputPort = s.outputPort();
        systemFlag = s.systemFlag();
        lastWriteWasCommand = s.lastWriteWasCommand();
        pendingCommand = s.pendingCommand();
        lastData = s.lastData();
        queueHead = 0;
        queueCount = Math.min(s.output().length, QUEUE_SIZE);
        System.arraycopy(s.output(), 0, queue, 0, queueCount);
        updateIrqs();
    }
}
