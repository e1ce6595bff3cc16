package dev.hako.devices.virtio;

import dev.hako.core.bus.MmioDevice;
import dev.hako.core.irq.IrqLine;
import dev.hako.core.irq.MsiMessage;
import dev.hako.core.memory.GuestMemory;
import dev.hako.core.state.Snapshotable;
import dev.hako.devices.pci.MsixTable;
import dev.hako.devices.pci.PciBar;
import dev.hako.devices.pci.PciConfigSpace;
import dev.hako.devices.pci.PciFunction;
import dev.hako.devices.pci.PciHeader;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The modern virtio PCI transport (virtio 1.2 §4.1): a PCI function with vendor 0x1af4 and device
 * 0x1040 + device ID, revision 1, whose 64-bit memory BAR 0 holds the common configuration structure (§4.1.4.3),
 * the notification area (§4.1.4.4, one 4-byte slot per queue), the ISR status (§4.1.4.5), the device-specific
 * configuration (§4.1.4.6) and the MSI-X table and PBA; vendor-specific capabilities point the driver at each.
 *
 * <p>Implemented: feature negotiation (VERSION_1 required, FEATURES_OK refused for unknown bits), device status and
 * reset, queue setup and enabling through the common configuration, split virtqueues with indirect descriptors and
 * event index ({@link Virtqueue}), one MSI-X vector per queue and one for configuration changes (a vector the table
 * does not have reads back as NO_VECTOR), INTx with the ISR when MSI-X is off, and DEVICE_NEEDS_RESET for a guest
 * that breaks the protocol, and the PCI configuration access capability (§4.1.4.9: a window in configuration space
 * onto the BAR, for drivers that cannot map it). Queue notifications are processed on the notifying vCPU's thread,
 * as QEMU does without I/O threads; work the host starts ({@link #processFromHost}: console input, vsock sockets,
 * timers) runs on the host's thread under the same lock, so a device's {@code process} never runs on two threads at
 * once and its completions and interrupts are ordered with the driver's. Not implemented: the legacy interface,
 * packed queues, VIRTIO_F_RING_RESET, notification data.
 *
 * <p>Guest control: every common configuration field, the ISR (read to acknowledge), the device configuration
 * through the device, the MSI-X table, and the rings in guest memory. Accesses to the BAR are serialised here and
 * allocate nothing.
 */
public final class VirtioPciFunction implements PciFunction, VirtioTransport, Snapshotable<VirtioPciState> {
    public static final int VENDOR_ID = 0x1AF4, DEVICE_ID_BASE = 0x1040, REVISION = 1, SUBSYSTEM_ID = 0x1100;
    public static final int NO_VECTOR = 0xFFFF;
    /** Structure types of the virtio PCI capabilities (§4.1.4). */
    public static final int CAP_COMMON = 1, CAP_NOTIFY = 2, CAP_ISR = 3, CAP_DEVICE = 4, CAP_PCI_CFG = 5;
    /** struct virtio_pci_cap fields, from the capability's start. */
    public static final int CAP_BAR = 4, CAP_OFFSET = 8, CAP_LENGTH = 12, CAP_PCI_CFG_DATA = 16;
    /** Where each structure sits in BAR 0. */
    public static final int COMMON_OFFSET = 0x0000, ISR_OFFSET = 0x1000, DEVICE_OFFSET = 0x2000,
            NOTIFY_OFFSET = 0x3000, MSIX_TABLE_OFFSET = 0x4000, MSIX_PBA_OFFSET = 0x6000, BAR_SIZE = 0x8000;
    public static final int NOTIFY_MULTIPLIER = 4, COMMON_LENGTH = 0x38, ISR_LENGTH = 4;
    public static final int ISR_QUEUE = 1, ISR_CONFIG = 2;
    /** Common configuration fields (§4.1.4.3). */
    public static final int DEVICE_FEATURE_SELECT = 0x00, DEVICE_FEATURE = 0x04, DRIVER_FEATURE_SELECT = 0x08,
            DRIVER_FEATURE = 0x0C, CONFIG_MSIX_VECTOR = 0x10, NUM_QUEUES = 0x12, DEVICE_STATUS = 0x14,
            CONFIG_GENERATION = 0x15, QUEUE_SELECT = 0x16, QUEUE_SIZE = 0x18, QUEUE_MSIX_VECTOR = 0x1A,
            QUEUE_ENABLE = 0x1C, QUEUE_NOTIFY_OFF = 0x1E, QUEUE_DESC = 0x20, QUEUE_DRIVER = 0x28,
            QUEUE_DEVICE = 0x30;
    private static final System.Logger LOG = System.getLogger("dev.hako.devices.virtio");

    private final GuestMemory memory;
    private final VirtioDevice device;
    private final String name;
    private final PciConfigSpace config;
    private final MsixTable msix;
    private final Virtqueue[] queues;
    private final PciBar bar0;
    private final long offered;
    private final int pciCfgCapability;
    private IrqLine intx = IrqLine.NONE;
    private int deviceFeatureSelect;
    private int driverFeatureSelect;
    private long driverFeatures;
    private int configVector = NO_VECTOR;
    private int status;
    private int configGeneration;
    private int queueSelect;
    private int isr;
    private boolean reportedError;
    /** While the machine is paused, host-started work waits here (a bit per queue) instead of touching RAM. */
    private boolean hostWorkHeld;
    private long heldQueues;

    private final MmioDevice barDevice = new MmioDevice() {
        @Override
        public long read(int vcpu, long offset, int size) {
            return barRead(offset, size);
        }

        @Override
        public void write(int vcpu, long offset, int size, long value) {
            barWrite(offset, size, value);
        }
    };

    /**
     * @param name how log lines name the device (its component id)
     * @param msiSink where MSI-X messages go (the interrupt controller)
     */
    public VirtioPciFunction(String name, GuestMemory memory, VirtioDevice device, Consumer<MsiMessage> msiSink) {
        this.name = name;
        this.memory = memory;
        this.device = device;
        this.offered = device.features() | VirtioFeatures.TRANSPORT;
        int queueCount = device.queueCount();
        if (queueCount < 1 || queueCount * NOTIFY_MULTIPLIER > MSIX_TABLE_OFFSET - NOTIFY_OFFSET
                || device.configSize() > NOTIFY_OFFSET - DEVICE_OFFSET) {
            throw new IllegalArgumentException("virtio device with " + queueCount + " queues and "
                    + device.configSize() + " configuration bytes does not fit the BAR layout");
        }
        this.queues = new Virtqueue[queueCount];
        for (int q = 0; q < queueCount; q++) {
            queues[q] = new Virtqueue(memory, device.maxQueueSize(q));
        }
        this.config = new PciConfigSpace(VENDOR_ID, DEVICE_ID_BASE + device.deviceId(), device.pciClass(), REVISION,
                VENDOR_ID, SUBSYSTEM_ID, PciHeader.PIN_INTA);
        addVirtioCapability(CAP_COMMON, COMMON_OFFSET, COMMON_LENGTH, 16);
        int notify = addVirtioCapability(CAP_NOTIFY, NOTIFY_OFFSET, queueCount * NOTIFY_MULTIPLIER, 20);
        config.set32(notify + 16, NOTIFY_MULTIPLIER);
        addVirtioCapability(CAP_ISR, ISR_OFFSET, ISR_LENGTH, 16);
        if (device.configSize() > 0) {
            addVirtioCapability(CAP_DEVICE, DEVICE_OFFSET, device.configSize(), 16);
        }
        pciCfgCapability = addVirtioCapability(CAP_PCI_CFG, 0, 0, 20);
        config.writable(pciCfgCapability + CAP_BAR, 1, 0xFF);
        config.writable(pciCfgCapability + CAP_OFFSET, 4, -1);
        config.writable(pciCfgCapability + CAP_LENGTH, 4, -1);
        config.writable(pciCfgCapability + CAP_PCI_CFG_DATA, 4, -1);
        this.msix = new MsixTable(config, queueCount + 1, 0, MSIX_TABLE_OFFSET, MSIX_PBA_OFFSET, msiSink);
        this.bar0 = PciBar.memory64(BAR_SIZE, barDevice);
        device.connect(this);
    }

    /** struct virtio_pci_cap: vendor capability with cfg_type, bar, offset and length. */
    private int addVirtioCapability(int type, int offset, int length, int capLength) {
        int at = config.addCapability(PciHeader.CAP_ID_VENDOR, capLength);
        config.set8(at + 2, capLength);
        config.set8(at + 3, type);
        config.set8(at + 4, 0);
        config.set32(at + 8, offset);
        config.set32(at + 12, length);
        return at;
    }

    public VirtioDevice device() {
        return device;
    }

    public MsixTable msix() {
        return msix;
    }

    public synchronized int status() {
        return status;
    }

    @Override
    public PciConfigSpace config() {
        return config;
    }

    @Override
    public PciBar bar(int index) {
        return index == 0 ? bar0 : null;
    }

    @Override
    public void configReading(int offset, int size) {
        if (overlapsPciCfgData(offset, size) && pciCfgAccessIsValid()) {
            long value = barRead(config.u32(pciCfgCapability + CAP_OFFSET) & 0xFFFF_FFFFL, pciCfgLength());
            config.set32(pciCfgCapability + CAP_PCI_CFG_DATA, (int) value);
        }
    }

    @Override
    public void configWritten(int offset, int size) {
        if (overlapsPciCfgData(offset, size) && pciCfgAccessIsValid()) {
            barWrite(config.u32(pciCfgCapability + CAP_OFFSET) & 0xFFFF_FFFFL, pciCfgLength(),
                    config.u32(pciCfgCapability + CAP_PCI_CFG_DATA) & 0xFFFF_FFFFL);
        }
        msix.configWritten();
        synchronized (this) {
            updateIntx();
        }
    }

    private boolean overlapsPciCfgData(int offset, int size) {
        int data = pciCfgCapability + CAP_PCI_CFG_DATA;
        return offset < data + 4 && data < offset + size;
    }

    private int pciCfgLength() {
        return config.u32(pciCfgCapability + CAP_LENGTH);
    }

    /** §4.1.4.9.1: BAR 0, a length of 1, 2 or 4 and an offset aligned to it, inside the BAR. */
    private boolean pciCfgAccessIsValid() {
        long offset = config.u32(pciCfgCapability + CAP_OFFSET) & 0xFFFF_FFFFL;
        int length = pciCfgLength();
        return config.u8(pciCfgCapability + CAP_BAR) == 0 && (length == 1 || length == 2 || length == 4)
                && offset % length == 0 && offset + length <= BAR_SIZE;
    }

    @Override
    public void connectIntx(IrqLine line) {
        this.intx = line;
    }

    @Override
    public GuestMemory memory() {
        return memory;
    }

    @Override
    public Virtqueue queue(int index) {
        return queues[index];
    }

    @Override
    public synchronized long negotiatedFeatures() {
        return driverFeatures;
    }

    @Override
    public synchronized boolean live() {
        return (status & VirtioFeatures.STATUS_DRIVER_OK) != 0
                && (status & VirtioFeatures.STATUS_DEVICE_NEEDS_RESET) == 0;
    }

    @Override
    public synchronized void signalUsed(int queue) {
        if (queues[queue].needsInterrupt()) {
            interrupt(queues[queue].vector(), ISR_QUEUE);
        }
    }

    @Override
    public synchronized void needsReset(String why) {
        broken(why, -1);
    }

    @Override
    public synchronized void queueBroken(int queue) {
        broken(null, queue);
    }

    /** Enters DEVICE_NEEDS_RESET; the reason is formatted only for the one log line. */
    private void broken(String why, int queue) {
        if ((status & VirtioFeatures.STATUS_DEVICE_NEEDS_RESET) != 0) {
            return;
        }
        status |= VirtioFeatures.STATUS_DEVICE_NEEDS_RESET;
        if (!reportedError) {
            reportedError = true;
            String reason = why != null ? why : "queue " + queue + ": " + queues[queue].error();
            LOG.log(System.Logger.Level.WARNING, "{0}: the guest driver broke the virtio protocol ({1}); "
                    + "the device needs a reset (further errors of this device are not logged)", name, reason);
        }
        interrupt(configVector, ISR_CONFIG);
    }

    @Override
    public synchronized void configChanged() {
        configGeneration = (configGeneration + 1) & 0xFF;
        if ((status & VirtioFeatures.STATUS_DRIVER_OK) != 0) {
            interrupt(configVector, ISR_CONFIG);
        }
    }

    private void interrupt(int vector, int isrBit) {
        if (msix.enabled()) {
            msix.signal(vector);
        } else {
            isr |= isrBit;
            updateIntx();
        }
    }

    private void updateIntx() {
        boolean asserted = isr != 0;
        int pciStatus = config.u16(PciHeader.STATUS);
        config.set16(PciHeader.STATUS, asserted ? pciStatus | PciHeader.STATUS_INTERRUPT
                : pciStatus & ~PciHeader.STATUS_INTERRUPT);
        intx.set(asserted && (config.u16(PciHeader.COMMAND) & PciHeader.COMMAND_INTX_DISABLE) == 0);
    }

    private long barRead(long offset, int size) {
        if (offset >= MSIX_TABLE_OFFSET && offset < MSIX_PBA_OFFSET) {
            return msix.readTable(offset - MSIX_TABLE_OFFSET, size);
        }
        if (offset >= MSIX_PBA_OFFSET) {
            return msix.readPba(offset - MSIX_PBA_OFFSET, size);
        }
        synchronized (this) {
            if (offset < COMMON_LENGTH) {
                return commonRead((int) offset, size);
            }
            if (offset >= ISR_OFFSET && offset < ISR_OFFSET + ISR_LENGTH) {
                if (offset != ISR_OFFSET) {
                    return 0;
                }
                int value = isr;
                isr = 0;
                updateIntx();
                return value;
            }
            if (offset >= DEVICE_OFFSET && offset + size <= DEVICE_OFFSET + device.configSize()) {
                return device.readConfig((int) offset - DEVICE_OFFSET, size);
            }
            return 0;
        }
    }

    private void barWrite(long offset, int size, long value) {
        if (offset >= MSIX_TABLE_OFFSET && offset < MSIX_PBA_OFFSET) {
            msix.writeTable(offset - MSIX_TABLE_OFFSET, size, value);
            return;
        }
        synchronized (this) {
            if (offset < COMMON_LENGTH) {
                commonWrite((int) offset, size, value);
            } else if (offset >= DEVICE_OFFSET && offset + size <= DEVICE_OFFSET + device.configSize()) {
                device.writeConfig((int) offset - DEVICE_OFFSET, size, value);
            } else if (offset >= NOTIFY_OFFSET && offset < NOTIFY_OFFSET + (long) queues.length * NOTIFY_MULTIPLIER) {
                notifyQueue((int) (offset - NOTIFY_OFFSET) / NOTIFY_MULTIPLIER);
            }
        }
    }

    @Override
    public synchronized void processFromHost(int queue) {
        if (queue >= 0 && queue < queues.length) {
            if (hostWorkHeld) {
                heldQueues |= 1L << queue;
                return;
            }
            notifyQueue(queue);
        }
    }

    /**
     * Holds (or releases) the work host threads start (received frames, console input, vsock data): while the
     * machine is paused, guest RAM and the rings must not change under a snapshot or a migration's last copy.
     * Released, the queues asked for meanwhile are processed.
     */
    public synchronized void holdHostWork(boolean held) {
        hostWorkHeld = held;
        if (!held) {
            long pending = heldQueues;
            heldQueues = 0;
            for (int q = 0; q < queues.length; q++) {
                if ((pending & 1L << q) != 0) {
                    notifyQueue(q);
                }
            }
        }
    }

    private void notifyQueue(int queue) {
        if (live() && queues[queue].ready()) {
            device.process(queue, this);
        }
    }

    /** Common configuration reads: a field read whole, or a 4-byte half of a 64-bit address field. */
    private long commonRead(int offset, int size) {
        Virtqueue q = queueSelect < queues.length ? queues[queueSelect] : null;
        long value = switch (offset) {
            case DEVICE_FEATURE_SELECT -> deviceFeatureSelect;
            case DEVICE_FEATURE -> deviceFeatureSelect < 2 ? (offered >>> (32 * deviceFeatureSelect)) & 0xFFFF_FFFFL
                    : 0;
            case DRIVER_FEATURE_SELECT -> driverFeatureSelect;
            case DRIVER_FEATURE -> driverFeatureSelect < 2
                    ? (driverFeatures >>> (32 * driverFeatureSelect)) & 0xFFFF_FFFFL : 0;
            case CONFIG_MSIX_VECTOR -> configVector;
            case NUM_QUEUES -> queues.length;
            case DEVICE_STATUS -> status;
            case CONFIG_GENERATION -> configGeneration;
            case QUEUE_SELECT -> queueSelect;
            case QUEUE_SIZE -> q == null ? 0 : q.size();
            case QUEUE_MSIX_VECTOR -> q == null ? NO_VECTOR : q.vector();
            case QUEUE_ENABLE -> q != null && q.ready() ? 1 : 0;
            case QUEUE_NOTIFY_OFF -> q == null ? 0 : queueSelect;
            case QUEUE_DESC, QUEUE_DESC + 4 -> q == null ? 0 : half(q.descTable(), offset - QUEUE_DESC, size);
            case QUEUE_DRIVER, QUEUE_DRIVER + 4 -> q == null ? 0 : half(q.availRing(), offset - QUEUE_DRIVER, size);
            case QUEUE_DEVICE, QUEUE_DEVICE + 4 -> q == null ? 0 : half(q.usedRing(), offset - QUEUE_DEVICE, size);
            default -> 0;
        };
        return size == 8 ? value : value & ((1L << (8 * size)) - 1);
    }

    private static long half(long value, int within, int size) {
        return size == 8 ? value : value >>> (8 * within);
    }

    private void commonWrite(int offset, int size, long value) {
        Virtqueue q = queueSelect < queues.length ? queues[queueSelect] : null;
        boolean queueWritable = q != null && !q.ready();
        switch (offset) {
            case DEVICE_FEATURE_SELECT -> deviceFeatureSelect = (int) value;
            case DRIVER_FEATURE_SELECT -> driverFeatureSelect = (int) value;
            case DRIVER_FEATURE -> {
                if (driverFeatureSelect < 2 && (status & VirtioFeatures.STATUS_FEATURES_OK) == 0) {
                    int shift = 32 * driverFeatureSelect;
                    driverFeatures = driverFeatures & ~(0xFFFF_FFFFL << shift) | (value & 0xFFFF_FFFFL) << shift;
                }
            }
            case CONFIG_MSIX_VECTOR -> configVector = vectorOrNone((int) value);
            case DEVICE_STATUS -> writeStatus((int) value & 0xFF);
            case QUEUE_SELECT -> queueSelect = (int) value & 0xFFFF;
            case QUEUE_SIZE -> {
                if (queueWritable) {
                    q.setSize((int) value & 0xFFFF);
                }
            }
            case QUEUE_MSIX_VECTOR -> {
                if (q != null) {
                    q.setVector(vectorOrNone((int) value));
                }
            }
            case QUEUE_ENABLE -> {
                if (queueWritable && (value & 1) != 0) {
                    boolean indirect = VirtioFeatures.has(driverFeatures, VirtioFeatures.INDIRECT_DESC);
                    boolean eventIdx = VirtioFeatures.has(driverFeatures, VirtioFeatures.RING_EVENT_IDX);
                    if (!q.enable(indirect, eventIdx)) {
                        queueBroken(queueSelect);
                    }
                }
            }
            case QUEUE_DESC, QUEUE_DESC + 4 -> {
                if (queueWritable) {
                    q.setDescTable(merge(q.descTable(), offset - QUEUE_DESC, size, value));
                }
            }
            case QUEUE_DRIVER, QUEUE_DRIVER + 4 -> {
                if (queueWritable) {
                    q.setAvailRing(merge(q.availRing(), offset - QUEUE_DRIVER, size, value));
                }
            }
            case QUEUE_DEVICE, QUEUE_DEVICE + 4 -> {
                if (queueWritable) {
                    q.setUsedRing(merge(q.usedRing(), offset - QUEUE_DEVICE, size, value));
                }
            }
            default -> {
                // read-only fields and offsets inside a field: ignored
            }
        }
    }

    private static long merge(long old, int within, int size, long value) {
        if (size == 8) {
            return value;
        }
        long mask = (size == 4 ? 0xFFFF_FFFFL : (1L << (8 * size)) - 1) << (8 * within);
        return old & ~mask | (value << (8 * within)) & mask;
    }

    private int vectorOrNone(int vector) {
        int v = vector & 0xFFFF;
        return v < msix.vectors() ? v : NO_VECTOR;
    }

    private void writeStatus(int value) {
        if (value == 0) {
            reset();
            return;
        }
        int next = value | (status & VirtioFeatures.STATUS_DEVICE_NEEDS_RESET);
        boolean featuresOkNow = (next & VirtioFeatures.STATUS_FEATURES_OK) != 0
                && (status & VirtioFeatures.STATUS_FEATURES_OK) == 0;
        if (featuresOkNow && ((driverFeatures & ~offered) != 0
                || !VirtioFeatures.has(driverFeatures, VirtioFeatures.VERSION_1))) {
            next &= ~VirtioFeatures.STATUS_FEATURES_OK;  // §3.1.1: the driver reads back and gives up
        }
        boolean driverOkNow = (next & VirtioFeatures.STATUS_DRIVER_OK) != 0
                && (status & VirtioFeatures.STATUS_DRIVER_OK) == 0;
        if (driverOkNow && (next & VirtioFeatures.STATUS_FEATURES_OK) == 0) {
            next &= ~VirtioFeatures.STATUS_DRIVER_OK;
            driverOkNow = false;
        }
        status = next;
        if (driverOkNow) {
            device.activate(driverFeatures);
        }
    }

    private void reset() {
        device.reset();
        for (Virtqueue q : queues) {
            q.reset();
        }
        deviceFeatureSelect = driverFeatureSelect = 0;
        driverFeatures = 0;
        configVector = NO_VECTOR;
        status = 0;
        queueSelect = 0;
        isr = 0;
        updateIntx();
    }

    @Override
    public synchronized VirtioPciState save() {
        List<VirtqueueState> queueStates = new ArrayList<>();
        for (Virtqueue q : queues) {
            queueStates.add(q.save());
        }
        return new VirtioPciState(VirtioPciState.VERSION, deviceFeatureSelect, driverFeatureSelect, driverFeatures,
                configVector, status, configGeneration, queueSelect, isr, queueStates, msix.save());
    }

    @Override
    public synchronized void restore(VirtioPciState s) {
        if (s.version() != VirtioPciState.VERSION || s.queues().size() != queues.length) {
            throw new IllegalArgumentException("virtio PCI state of another version or queue count");
        }
        deviceFeatureSelect = s.deviceFeatureSelect();
        driverFeatureSelect = s.driverFeatureSelect();
        driverFeatures = s.driverFeatures();
        configVector = s.configVector();
        status = s.status();
        configGeneration = s.configGeneration();
        queueSelect = s.queueSelect();
        isr = s.isr();
        for (int q = 0; q < queues.length; q++) {
            queues[q].restore(s.queues().get(q));
        }
        msix.restore(s.msix());
        updateIntx();
        device.restored();
    }
}
