package dev.hako.devices.virtio.console;

import dev.hako.core.memory.GuestMemory;
import dev.hako.core.state.Snapshotable;
import dev.hako.devices.backend.CharBackend;
import dev.hako.devices.backend.CharFrontend;
import dev.hako.devices.virtio.DescriptorChain;
import dev.hako.devices.virtio.VirtioDevice;
import dev.hako.devices.virtio.VirtioDeviceType;
import dev.hako.devices.virtio.VirtioTransport;
import dev.hako.devices.virtio.Virtqueue;

/**
 * A console device (virtio 1.2 §5.3) with one port, port 0, which Linux's virtio_console shows as /dev/hvc0: the
 * receive queue carries host input from a {@link CharBackend} to the guest, the transmit queue the guest's output
 * to the backend; VIRTIO_CONSOLE_F_EMERG_WRITE lets the guest write a byte through the configuration space
 * (emerg_wr) before its queues work.
 *
 * <p>Host input arrives on the backend's own thread ({@link CharFrontend#receive}); it is buffered here (4 KiB,
 * the backend retries when full) and delivered into the guest's receive buffers under the transport's lock through
 * {@link VirtioTransport#processFromHost}, so it never races the driver's notifications. Input waits while the
 * driver has posted no buffers. Device-writable segments of a transmit chain and device-readable segments of a
 * receive chain are ignored. Processing allocates nothing.
 *
 * <p>Not implemented: VIRTIO_CONSOLE_F_MULTIPORT (and with it the control queues and named ports),
 * VIRTIO_CONSOLE_F_SIZE (cols and rows read as 0). Guest control: both queues' buffers and emerg_wr.
 */
public final class VirtioConsole implements VirtioDevice, CharFrontend, Snapshotable<VirtioConsoleState> {
    public static final int DEVICE_ID = 3;
    /** PCI class "simple communication controller, other" (as QEMU's virtio-serial). */
    public static final int CLASS_COMMUNICATION_OTHER = 0x078000;
    public static final int F_SIZE = 0, F_MULTIPORT = 1, F_EMERG_WRITE = 2;
    public static final int RECEIVE_QUEUE = 0, TRANSMIT_QUEUE = 1, QUEUE_SIZE = 128;
    /** struct virtio_console_config. */
    public static final int CFG_COLS = 0, CFG_ROWS = 2, CFG_MAX_NR_PORTS = 4, CFG_EMERG_WR = 8, CONFIG_SIZE = 12;
    public static final int INPUT_BUFFER = 4096;
    private static final VirtioDeviceType TYPE = new VirtioDeviceType(DEVICE_ID, CLASS_COMMUNICATION_OTHER,
            2, QUEUE_SIZE, CONFIG_SIZE);

    private final CharBackend backend;
    /** Host input not yet in the guest: a ring guarded by its own monitor (the backend's thread fills it). */
    private final byte[] input = new byte[INPUT_BUFFER];
    private int inputStart;
    private int inputCount;
    private volatile VirtioTransport transport;

    public VirtioConsole(CharBackend backend) {
        this.backend = backend;
        backend.attach(this);
    }

    @Override
    public VirtioDeviceType type() {
        return TYPE;
    }

    @Override
    public void connect(VirtioTransport transport) {
        this.transport = transport;
    }

    @Override
    public boolean receive(int b) {
        synchronized (input) {
            if (inputCount == INPUT_BUFFER) {
                return false;
            }
            input[(inputStart + inputCount) % INPUT_BUFFER] = (byte) b;
            inputCount++;
        }
        VirtioTransport t = transport;
        if (t != null) {
            t.processFromHost(RECEIVE_QUEUE);
        }
        return true;
    }

    @Override
    public int receiveSpace() {
        synchronized (input) {
            return INPUT_BUFFER - inputCount;
        }
    }

    @Override
    public long features() {
        return 1L << F_EMERG_WRITE;
    }

    @Override
    public long readConfig(int offset, int size) {
        // cols, rows and emerg_wr read as 0; max_nr_ports is 1 (only meaningful with MULTIPORT).
        long value = 0;
        for (int i = 0; i < size; i++) {
            if (offset + i == CFG_MAX_NR_PORTS) {
                value |= 1L << (8 * i);
            }
        }
        return value;
    }

    @Override
    public void writeConfig(int offset, int size, long value) {
        if (offset == CFG_EMERG_WR) {
            backend.write((int) value & 0xFF);
        }
    }

    @Override
    public void activate(long features) {
        // port 0 is ready as soon as the driver is
    }

    @Override
    public void reset() {
        // pending host input stays for the next driver, as typed characters would
    }

    @Override
    public void process(int queue, VirtioTransport transport) {
        if (queue == TRANSMIT_QUEUE) {
            transmit(transport);
        } else {
            deliverInput(transport);
        }
    }

    private void transmit(VirtioTransport transport) {
        Virtqueue q = transport.queue(TRANSMIT_QUEUE);
        GuestMemory memory = transport.memory();
        do {
            int head;
            while ((head = q.pop()) >= 0) {
                DescriptorChain chain = q.chain();
                for (int s = 0; s < chain.readableSegments(); s++) {
                    long address = chain.address(s);
                    for (long i = 0, n = chain.length(s); i < n; i++) {
                        backend.write(memory.getU8(address + i));
                    }
                }
                q.pushUsed(head, 0);
            }
            if (head == Virtqueue.MALFORMED) {
                transport.queueBroken(TRANSMIT_QUEUE);
                return;
            }
            transport.signalUsed(TRANSMIT_QUEUE);
        } while (q.armNotification());
    }

    private void deliverInput(VirtioTransport transport) {
        Virtqueue q = transport.queue(RECEIVE_QUEUE);
        GuestMemory memory = transport.memory();
        while (true) {
            int head = Virtqueue.EMPTY;
            while (hasInput() && (head = q.pop()) >= 0) {
                DescriptorChain chain = q.chain();
                long written = 0;
                for (int s = chain.readableSegments(); s < chain.segments(); s++) {
                    long address = chain.address(s);
                    for (long i = 0, n = chain.length(s); i < n; i++, written++) {
                        int b = takeInput();
                        if (b < 0) {
                            break;
                        }
                        memory.setU8(address + i, b);
                    }
                }
                q.pushUsed(head, Math.min(written, chain.writableBytes()));
            }
            if (head == Virtqueue.MALFORMED) {
                transport.queueBroken(RECEIVE_QUEUE);
                return;
            }
            transport.signalUsed(RECEIVE_QUEUE);
            if (!q.armNotification() || !hasInput()) {
                return;  // the driver's next notification (new buffers) or the next input byte brings us back
            }
        }
    }

    private boolean hasInput() {
        synchronized (input) {
            return inputCount > 0;
        }
    }

    private int takeInput() {
        synchronized (input) {
            if (inputCount == 0) {
                return -1;
            }
            int b = input[inputStart] & 0xFF;
            inputStart = (inputStart + 1) % INPUT_BUFFER;
            inputCount--;
            return b;
        }
    }

    @Override
    public VirtioConsoleState save() {
        synchronized (input) {
            byte[] pending = new byte[inputCount];
            for (int i = 0; i < inputCount; i++) {
                pending[i] = input[(inputStart + i) % INPUT_BUFFER];
            }
            return new VirtioConsoleState(VirtioConsoleState.VERSION, pending);
        }
    }

    @Override
    public void restore(VirtioConsoleState state) {
        byte[] pending = state.pendingInput();
        if (state.version() != VirtioConsoleState.VERSION || pending.length > INPUT_BUFFER) {
            throw new IllegalArgumentException("virtio-console state of another version or too much input");
        }
        synchronized (input) {
            System.arraycopy(pending, 0, input, 0, pending.length);
            inputStart = 0;
            inputCount = pending.length;
        }
    }
}
