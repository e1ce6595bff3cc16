package dev.hako.devices.virtio;

import dev.hako.core.bus.MmioDevice;
import dev.hako.core.memory.GuestMemory;
import dev.hako.devices.pci.PciHeader;
import java.util.Arrays;

/**
 * A guest virtio driver in miniature, for tests: it talks to a {@link VirtioPciFunction} through its BAR and
 * configuration space exactly as a guest would, and builds split rings in guest memory at fixed places.
 */
public final class VirtioTestDriver {
    public static final long DESC = 0x1_0000, AVAIL = 0x2_0000, USED = 0x3_0000, INDIRECT = 0x4_0000,
            DATA = 0x10_0000;

    public final GuestMemory memory;
    public final VirtioPciFunction function;
    private final MmioDevice bar;
    /** Queue q's rings sit at DESC, AVAIL and USED plus q times this (room for 256 entries each). */
    public static final long QUEUE_STRIDE = 0x1000;
    private final int[] sizes = new int[8];
    private final int[] availIdx = new int[8];
    private int size;

    public VirtioTestDriver(GuestMemory memory, VirtioPciFunction function) {
        this.memory = memory;
        this.function = function;
        this.bar = function.bar(0).memory();
    }

    public long common(int offset, int size) {
        return bar.read(0, VirtioPciFunction.COMMON_OFFSET + offset, size);
    }

    public void common(int offset, int size, long value) {
        bar.write(0, VirtioPciFunction.COMMON_OFFSET + offset, size, value);
    }

    public MmioDevice bar() {
        return bar;
    }

    public long deviceFeatures() {
        common(VirtioPciFunction.DEVICE_FEATURE_SELECT, 4, 0);
        long low = common(VirtioPciFunction.DEVICE_FEATURE, 4);
        common(VirtioPciFunction.DEVICE_FEATURE_SELECT, 4, 1);
        return common(VirtioPciFunction.DEVICE_FEATURE, 4) << 32 | low;
    }

    public int status() {
        return (int) common(VirtioPciFunction.DEVICE_STATUS, 1);
    }

    public void status(int value) {
        common(VirtioPciFunction.DEVICE_STATUS, 1, value);
    }

    /** ACKNOWLEDGE, DRIVER, the features, FEATURES_OK; returns whether the device kept FEATURES_OK. */
    public boolean negotiate(long features) {
        status(0);
        Arrays.fill(availIdx, 0);
        status(VirtioFeatures.STATUS_ACKNOWLEDGE);
        status(VirtioFeatures.STATUS_ACKNOWLEDGE | VirtioFeatures.STATUS_DRIVER);
        common(VirtioPciFunction.DRIVER_FEATURE_SELECT, 4, 0);
        common(VirtioPciFunction.DRIVER_FEATURE, 4, features & 0xFFFF_FFFFL);
        common(VirtioPciFunction.DRIVER_FEATURE_SELECT, 4, 1);
        common(VirtioPciFunction.DRIVER_FEATURE, 4, features >>> 32);
        status(VirtioFeatures.STATUS_ACKNOWLEDGE | VirtioFeatures.STATUS_DRIVER | VirtioFeatures.STATUS_FEATURES_OK);
        return (status() & VirtioFeatures.STATUS_FEATURES_OK) != 0;
    }

    /**
     * Queue {@code queue} of {@code size} entries at DESC/AVAIL/USED (plus {@code queue * QUEUE_STRIDE}), zeroed,
     * with MSI-X vector {@code vector}.
     */
    public void setupQueue(int queue, int size, int vector) {
        if (queue == 0) {
            this.size = size;
        }
        sizes[queue] = size;
        long shift = queue * QUEUE_STRIDE;
        memory.fill(DESC + shift, 16L * size, (byte) 0);
        memory.fill(AVAIL + shift, 6 + 2L * size, (byte) 0);
        memory.fill(USED + shift, 6 + 8L * size, (byte) 0);
        common(VirtioPciFunction.QUEUE_SELECT, 2, queue);
        common(VirtioPciFunction.QUEUE_SIZE, 2, size);
        common(VirtioPciFunction.QUEUE_MSIX_VECTOR, 2, vector);
        common(VirtioPciFunction.QUEUE_DESC, 4, DESC + shift);
        common(VirtioPciFunction.QUEUE_DESC + 4, 4, 0);
        common(VirtioPciFunction.QUEUE_DRIVER, 8, AVAIL + shift);
        common(VirtioPciFunction.QUEUE_DEVICE, 4, USED + shift);
        common(VirtioPciFunction.QUEUE_ENABLE, 2, 1);
    }

    /** For a driver that attaches to rings another driver set up. */
    public void setupQueueSizeForReading(int size) {
        this.size = size;
        sizes[0] = size;
    }

    public void driverOk() {
        status(status() | VirtioFeatures.STATUS_DRIVER_OK);
    }

    /** Sets the MSI-X enable bit (and routes vector {@code v} to data {@code 0x30 + v}, unmasked, for each). */
    public void enableMsix() {
        int cap = capability(PciHeader.CAP_ID_MSIX);
        for (int v = 0; v < function.msix().vectors(); v++) {
            bar.write(0, VirtioPciFunction.MSIX_TABLE_OFFSET + 16L * v, 4, 0xFEE0_0000L);
            bar.write(0, VirtioPciFunction.MSIX_TABLE_OFFSET + 16L * v + 8, 4, 0x30 + v);
            bar.write(0, VirtioPciFunction.MSIX_TABLE_OFFSET + 16L * v + 12, 4, 0);
        }
        function.config().write(cap + PciHeader.MSIX_CONTROL, 2, PciHeader.MSIX_CONTROL_ENABLE);
        function.configWritten(cap + PciHeader.MSIX_CONTROL, 2);
    }

    public int capability(int id) {
        int at = function.config().u8(PciHeader.CAPABILITIES_POINTER);
        while (at != 0) {
            if (function.config().u8(at) == id) {
                return at;
            }
            at = function.config().u8(at + 1);
        }
        return -1;
    }

    /** Writes descriptor {@code index} of the table at {@code table}. */
    public void descriptor(long table, int index, long address, long length, int flags, int next) {
        long at = table + 16L * index;
        memory.setU64(at, address);
        memory.setU32(at + 8, length);
        memory.setU16(at + 12, flags);
        memory.setU16(at + 14, next);
    }

    public void descriptor(int index, long address, long length, int flags, int next) {
        descriptor(DESC, index, address, length, flags, next);
    }

    /** Puts {@code head} in queue 0's available ring and publishes it. */
    public void publish(int head) {
        publish(0, head);
    }

    /** Descriptor {@code index} of queue {@code queue}'s table. */
    public void queueDescriptor(int queue, int index, long address, long length, int flags, int next) {
        descriptor(DESC + queue * QUEUE_STRIDE, index, address, length, flags, next);
    }

    /** Puts {@code head} in queue {@code queue}'s available ring and publishes it. */
    public void publish(int queue, int head) {
        long avail = AVAIL + queue * QUEUE_STRIDE;
        memory.setU16(avail + 4 + 2L * (availIdx[queue] % sizes[queue]), head);
        availIdx[queue] = (availIdx[queue] + 1) & 0xFFFF;
        memory.setU16Release(avail + 2, availIdx[queue]);
    }

    public int usedIdx(int queue) {
        return memory.getU16Acquire(USED + queue * QUEUE_STRIDE + 2);
    }

    public long usedId(int queue, int i) {
        return memory.getU32(USED + queue * QUEUE_STRIDE + 4 + 8L * (i % sizes[queue]));
    }

    public long usedLength(int queue, int i) {
        return memory.getU32(USED + queue * QUEUE_STRIDE + 8 + 8L * (i % sizes[queue]));
    }

    public void kick(int queue) {
        bar.write(0, VirtioPciFunction.NOTIFY_OFFSET + (long) VirtioPciFunction.NOTIFY_MULTIPLIER * queue, 2, queue);
    }

    public int usedIdx() {
        return memory.getU16(USED + 2);
    }

    public long usedId(int i) {
        return memory.getU32(USED + 4 + 8L * (i % size));
    }

    public long usedLength(int i) {
        return memory.getU32(USED + 8 + 8L * (i % size));
    }

    public void usedEvent(int value) {
        memory.setU16(AVAIL + 4 + 2L * size, value);
    }

    public int availEvent() {
        return memory.getU16(USED + 4 + 8L * size);
    }

    public int readIsr() {
        return (int) bar.read(0, VirtioPciFunction.ISR_OFFSET, 1);
    }
}
