package dev.hako.devices.virtio;

import dev.hako.core.memory.GuestMemory;
import dev.hako.core.state.Snapshotable;

/**
 * A split virtqueue (virtio 1.2 §2.7): the descriptor table, the driver ("available") ring and the device
 * ("used") ring in guest memory, with indirect descriptors (§2.7.5.3, VIRTIO_F_INDIRECT_DESC) and event index
 * notification suppression (§2.7.7, §2.7.10, VIRTIO_F_RING_EVENT_IDX).
 *
 * <p>Every guest-supplied value is validated here, once: the ring addresses, sizes and alignments when the driver
 * enables the queue ({@link #enable}); the available index, every head and next index, every descriptor's range,
 * direction and flags, chain lengths and indirect tables while popping ({@link #pop}). A violation returns
 * {@link #MALFORMED} with {@link #error()} naming it, and the transport puts the device in DEVICE_NEEDS_RESET. A
 * chain walk visits at most as many descriptors as its table has, so a loop ends as an error, never as a hang.
 *
 * <p>Not implemented: packed virtqueues, VIRTIO_F_IN_ORDER, indirect tables anywhere but at a chain's head (QEMU
 * makes the same restriction). The guest controls the whole ring contents; the queue's configuration comes from
 * the transport's common configuration structure.
 */
public final class Virtqueue implements Snapshotable<VirtqueueState> {
    public static final int EMPTY = -1, MALFORMED = -2;
    public static final int DESC_F_NEXT = 1, DESC_F_WRITE = 2, DESC_F_INDIRECT = 4;
    public static final int AVAIL_F_NO_INTERRUPT = 1;
    /** The longest indirect table accepted, in descriptors (Linux uses at most a few hundred). */
    public static final int MAX_INDIRECT = 1024;
    static final int DESCRIPTOR_SIZE = 16;
    /** The most bytes a chain may describe: a 32-bit used length must be able to count the writable part. */
    static final long MAX_CHAIN_BYTES = 0xFFFF_FFFFL;

    private final GuestMemory memory;
    private final int maxSize;
    private final DescriptorChain chain;
    private int size;
    private boolean ready;
    private long descTable;
    private long availRing;
    private long usedRing;
    private int vector = VirtioPciFunction.NO_VECTOR;
    private int lastAvail;
    private int used;
    private int signalledUsed;
    private boolean indirect;
    private boolean eventIndex;
    /** The last violation, kept as a template and numbers so that finding one allocates nothing. */
    private String errorTemplate;
    private long errorA;
    private long errorB;
    private long errorC;

    public Virtqueue(GuestMemory memory, int maxSize) {
        if (Integer.bitCount(maxSize) != 1 || maxSize > 32768) {
            throw new IllegalArgumentException("queue size " + maxSize + " is not a power of two up to 32768");
        }
        this.memory = memory;
        this.maxSize = maxSize;
        this.size = maxSize;
        this.chain = new DescriptorChain(Math.max(maxSize, MAX_INDIRECT));
    }

    public int maxSize() {
        return maxSize;
    }

    public int size() {
        return size;
    }

    public boolean ready() {
        return ready;
    }

    public int vector() {
        return vector;
    }

    void setVector(int vector) {
        this.vector = vector;
    }

    void setSize(int size) {
        this.size = size;
    }

    long descTable() {
        return descTable;
    }

    long availRing() {
        return availRing;
    }

    long usedRing() {
        return usedRing;
    }

    void setDescTable(long gpa) {
        descTable = gpa;
    }

    void setAvailRing(long gpa) {
        availRing = gpa;
    }

    void setUsedRing(long gpa) {
        usedRing = gpa;
    }

    /** Why the last {@link #pop} or {@link #enable} failed (formatted now: for the log, once). */
    public String error() {
        return errorTemplate == null ? null : String.format(errorTemplate, errorA, errorB, errorC);
    }

    /**
     * The driver set queue_enable: checks the rings (§2.7: sizes, alignment, inside RAM) under the negotiated
     * features; false (with {@link #error()}) when the layout is unusable.
     */
    boolean enable(boolean indirectDescriptors, boolean eventIdx) {
        this.indirect = indirectDescriptors;
        this.eventIndex = eventIdx;
        if (size == 0 || Integer.bitCount(size) != 1 || size > maxSize) {
            return fail("queue size %d is not a power of two up to %d", size, maxSize, 0);
        }
        if ((descTable & 15) != 0 || (availRing & 1) != 0 || (usedRing & 3) != 0) {
            return fail("misaligned rings: desc %#x avail %#x used %#x", descTable, availRing, usedRing);
        }
        if (!memory.contains(descTable, (long) DESCRIPTOR_SIZE * size) || !memory.contains(availRing, 6 + 2L * size)
                || !memory.contains(usedRing, 6 + 8L * size)) {
            return fail("rings outside RAM: desc %#x avail %#x used %#x", descTable, availRing, usedRing);
        }
        lastAvail = 0;
        used = 0;
        signalledUsed = 0;
        ready = true;
        return true;
    }

    /** Back to the reset state (§4.1.4.3: the queue is disabled and its configuration cleared). */
    void reset() {
        ready = false;
        size = maxSize;
        descTable = availRing = usedRing = 0;
        vector = VirtioPciFunction.NO_VECTOR;
        lastAvail = used = signalledUsed = 0;
        errorTemplate = null;
    }

    /**
     * Takes the next available chain into the queue's reusable {@link DescriptorChain}: returns its head index,
     * {@link #EMPTY} when the driver has published nothing new, or {@link #MALFORMED}.
     */
    public int pop() {
        if (!ready) {
            return EMPTY;
        }
        int availIdx = memory.getU16Acquire(availRing + 2);
        int pending = (availIdx - lastAvail) & 0xFFFF;
        if (pending == 0) {
            return EMPTY;
        }
        if (pending > size) {
            return malformed("available index %d is too far ahead of %d in a queue of %d", availIdx, lastAvail,
                    size);
        }
        int head = memory.getU16(availRing + 4 + 2L * (lastAvail & (size - 1)));
        if (head >= size) {
            return malformed("head index %d is past the queue size %d", head, size, 0);
        }
        int result = walk(head);
        if (result >= 0) {
            lastAvail = (lastAvail + 1) & 0xFFFF;
        }
        return result;
    }

    /**
     * Gives back the last {@code count} chains popped and not yet returned, so that the next {@link #pop} takes
     * them again: a device that needs several chains for one item (a network frame over mergeable buffers) and
     * finds too few waits for the driver instead of completing part of it.
     */
    public void rewind(int count) {
        lastAvail = (lastAvail - count) & 0xFFFF;
    }

    /** The chain the last successful {@link #pop} returned. */
    public DescriptorChain chain() {
        return chain;
    }

    private int walk(int head) {
        chain.reset(head);
        long table = descTable;
        int tableLength = size;
        int index = head;
        int visited = 0;
        boolean inIndirect = false;
        boolean sawWritable = false;
        long total = 0;
        while (true) {
            if (visited++ >= tableLength) {
                return malformed("descriptor chain from %d loops or is longer than its table of %d", head,
                        tableLength, 0);
            }
            long at = table + (long) DESCRIPTOR_SIZE * index;
            long address = memory.getU64(at);
            long length = memory.getU32(at + 8);
            int flags = memory.getU16(at + 12);
            int next = memory.getU16(at + 14);
            if ((flags & DESC_F_INDIRECT) != 0) {
                if (!indirect || inIndirect || visited != 1 || (flags & DESC_F_NEXT) != 0) {
                    return malformed("indirect descriptor %d where none may be (flags %#x, position %d)", index,
                            flags, visited);
                }
                if (length == 0 || length % DESCRIPTOR_SIZE != 0 || length / DESCRIPTOR_SIZE > MAX_INDIRECT
                        || !memory.contains(address, length)) {
                    return malformed("indirect table %#x+%#x is not a valid table in RAM", address, length, 0);
                }
                table = address;
                tableLength = (int) (length / DESCRIPTOR_SIZE);
                index = 0;
                visited = 0;
                inIndirect = true;
                continue;
            }
            if (!memory.contains(address, length)) {
                return malformed("descriptor %d: buffer %#x+%#x is outside RAM", index, address, length);
            }
            boolean deviceWritable = (flags & DESC_F_WRITE) != 0;
            if (!deviceWritable && sawWritable) {
                return malformed("descriptor %d: device-readable after device-writable", index, 0, 0);
            }
            sawWritable |= deviceWritable;
            total += length;
            if (total > MAX_CHAIN_BYTES || chain.segments() == chain.capacity()) {
                return malformed("descriptor chain from %d is longer than the limits (%d bytes)", head, total, 0);
            }
            chain.add(address, (int) length, deviceWritable);
            if ((flags & DESC_F_NEXT) == 0) {
                return head;
            }
            if (next >= tableLength) {
                return malformed("descriptor %d: next %d is past its table of %d", index, next, tableLength);
            }
            index = next;
        }
    }

    private int malformed(String template, long a, long b, long c) {
        errorTemplate = template;
        errorA = a;
        errorB = b;
        errorC = c;
        return MALFORMED;
    }

    private boolean fail(String template, long a, long b, long c) {
        malformed(template, a, b, c);
        return false;
    }

    /** Returns chain {@code head} to the driver with {@code written} bytes written into its writable part. */
    public void pushUsed(int head, long written) {
        long entry = usedRing + 4 + 8L * (used & (size - 1));
        memory.setU32(entry, head);
        memory.setU32(entry + 4, written);
        used = (used + 1) & 0xFFFF;
        memory.setU16Release(usedRing + 2, used);
    }

    /**
     * After a batch of {@link #pushUsed}: whether the driver wants an interrupt now (§2.7.10: the used_event
     * index with VIRTIO_F_RING_EVENT_IDX, else the available ring's NO_INTERRUPT flag).
     */
    public boolean needsInterrupt() {
        int old = signalledUsed;
        if (old == used) {
            return false;
        }
        signalledUsed = used;
        GuestMemory.storeLoadFence();
        if (eventIndex) {
            int usedEvent = memory.getU16(availRing + 4 + 2L * size);
            return ((used - usedEvent - 1) & 0xFFFF) < ((used - old) & 0xFFFF);
        }
        return (memory.getU16(availRing) & AVAIL_F_NO_INTERRUPT) == 0;
    }

    /**
     * Asks for a notification when the driver publishes past what was consumed (with event index: writes
     * avail_event) and returns true when more chains are already available, so the caller processes again
     * instead of missing them.
     */
    public boolean armNotification() {
        if (!ready) {
            return false;
        }
        if (eventIndex) {
            memory.setU16(usedRing + 4 + 8L * size, lastAvail);
        }
        GuestMemory.storeLoadFence();
        return memory.getU16Acquire(availRing + 2) != lastAvail;
    }

    @Override
    public VirtqueueState save() {
        return new VirtqueueState(VirtqueueState.VERSION, size, ready, descTable, availRing, usedRing, vector,
                lastAvail, used, signalledUsed, indirect, eventIndex);
    }

    @Override
    public void restore(VirtqueueState s) {
        if (s.version() != VirtqueueState.VERSION || s.size() > maxSize) {
            throw new IllegalArgumentException("virtqueue state " + s + " does not fit a queue of " + maxSize);
        }
        size = s.size();
        descTable = s.descTable();
        availRing = s.availRing();
        usedRing = s.usedRing();
        vector = s.vector();
        indirect = s.indirect();
        eventIndex = s.eventIndex();
        ready = false;
        if (s.ready() && !enable(s.indirect(), s.eventIndex())) {
            throw new IllegalArgumentException("virtqueue state " + s + " has rings outside this machine's RAM");
        }
        lastAvail = s.lastAvail();
        used = s.used();
        signalledUsed = s.signalledUsed();
    }
}
