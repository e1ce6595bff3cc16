package dev.hako.devices.virtio.balloon;

import dev.hako.core.memory.GuestMemory;
import dev.hako.core.state.Snapshotable;
import dev.hako.devices.backend.PageReclaimer;
import dev.hako.devices.virtio.DescriptorChain;
import dev.hako.devices.virtio.VirtioDevice;
import dev.hako.devices.virtio.VirtioDeviceType;
import dev.hako.devices.virtio.VirtioFeatures;
import dev.hako.devices.virtio.VirtioTransport;
import dev.hako.devices.virtio.Virtqueue;

/**
 * A traditional memory balloon (virtio 1.2 §5.5): the host sets a target ({@code num_pages}, 4 KiB pages) with
 * {@link #setTargetPages} while the guest runs, which raises the configuration interrupt; the driver inflates
 * (gives pages, as 32-bit page frame numbers on the inflate queue: the device reclaims them from the host with
 * {@link PageReclaimer}, runs of consecutive frames in one call) or deflates (takes them back: the pages fault in
 * again, zeroed, when touched) and reports its size in {@code actual}.
 *
 * <p>Implemented: VIRTIO_BALLOON_F_STATS_VQ (the driver's buffer of tagged statistics is held by the device and
 * returned when the host asks for fresh numbers with {@link #requestStatistics}; {@link #statistic} reads the
 * latest), VIRTIO_BALLOON_F_DEFLATE_ON_OOM (offered: the driver then deflates under memory pressure). Frames
 * outside RAM are skipped; at most {@value #MAX_PFNS_PER_REQUEST} frames of one request are looked at. Processing
 * allocates nothing.
 *
 * <p>Not implemented: MUST_TELL_HOST (not needed: deflated pages are usable at once), free page hinting, page
 * poisoning, free page reporting. Guest control: both page queues, the statistics buffers, and {@code actual}.
 */
public final class VirtioBalloon implements VirtioDevice, Snapshotable<VirtioBalloonState> {
    public static final int DEVICE_ID = 5;
    /** PCI class "other" (as QEMU's virtio-balloon-pci). */
    public static final int CLASS_OTHER = 0xFF0000;
    public static final int F_MUST_TELL_HOST = 0, F_STATS_VQ = 1, F_DEFLATE_ON_OOM = 2;
    public static final int INFLATE_QUEUE = 0, DEFLATE_QUEUE = 1, STATS_QUEUE = 2, QUEUE_SIZE = 128;
    /** struct virtio_balloon_config (the fields before free_page_hint_cmd_id). */
    public static final int CFG_NUM_PAGES = 0, CFG_ACTUAL = 4, CONFIG_SIZE = 8;
    public static final int PAGE_SHIFT = 12, PAGE_SIZE = 1 << PAGE_SHIFT, MAX_PFNS_PER_REQUEST = 4096;
    /** Statistics tags (§5.5.6.3) and the size of one tag-value pair. */
    public static final int S_SWAP_IN = 0, S_SWAP_OUT = 1, S_MAJFLT = 2, S_MINFLT = 3, S_MEMFREE = 4, S_MEMTOT = 5,
            S_AVAIL = 6, S_CACHES = 7, S_HTLB_PGALLOC = 8, S_HTLB_PGFAIL = 9, TAGS = 10, STAT_SIZE = 10;
    private static final VirtioDeviceType TYPE = new VirtioDeviceType(DEVICE_ID, CLASS_OTHER,
            3, QUEUE_SIZE, CONFIG_SIZE);

    private final PageReclaimer reclaimer;
    private final long ramPages;
    private final long[] statistics = new long[TAGS];
    private volatile VirtioTransport transport;
    private volatile long targetPages;
    private volatile long actualPages;
    private long activeFeatures;
    private int statsHead = -1;
    private int statsValid;
    private volatile long statsUpdates;
    private volatile boolean statsWanted;
    private long reclaimedPages;

    /** @param ramBytes the guest's RAM: the most the balloon may take */
    public VirtioBalloon(PageReclaimer reclaimer, long ramBytes, long initialTargetBytes) {
        this.reclaimer = reclaimer;
        this.ramPages = ramBytes >> PAGE_SHIFT;
        if (initialTargetBytes < 0 || initialTargetBytes > ramBytes) {
            throw new IllegalArgumentException("balloon target " + initialTargetBytes + " is outside the RAM ("
                    + ramBytes + " bytes)");
        }
        this.targetPages = initialTargetBytes >> PAGE_SHIFT;
    }

    @Override
    public VirtioDeviceType type() {
        return TYPE;
    }

    @Override
    public void connect(VirtioTransport transport) {
        this.transport = transport;
    }

    /** The host's new target, in pages (clamped to RAM): the driver hears of it through the config interrupt. */
    public void setTargetPages(long pages) {
        targetPages = Math.max(0, Math.min(pages, Math.min(ramPages, 0xFFFF_FFFFL)));
        VirtioTransport t = transport;
        if (t != null) {
            t.configChanged();
        }
    }

    public long targetPages() {
        return targetPages;
    }

    /** The balloon's size as the driver last reported it ({@code actual}), in pages. */
    public long actualPages() {
        return actualPages;
    }

    /** Pages the inflate queue has given back to the host so far (each frame counted once per inflation). */
    public synchronized long reclaimedPages() {
        return reclaimedPages;
    }

    /** Returns the statistics buffer to the driver, which answers with fresh numbers ({@link #statsUpdates}). */
    public void requestStatistics() {
        statsWanted = true;
        VirtioTransport t = transport;
        if (t != null) {
            t.processFromHost(STATS_QUEUE);
        }
    }

    /** How many statistics buffers the driver has sent: it moves when fresh numbers arrive. */
    public long statsUpdates() {
        return statsUpdates;
    }

    /** The latest value the driver reported for {@code tag}, or -1 if it never reported that tag. */
    public synchronized long statistic(int tag) {
        return tag >= 0 && tag < TAGS && (statsValid & 1 << tag) != 0 ? statistics[tag] : -1;
    }

    @Override
    public long features() {
        return 1L << F_STATS_VQ | 1L << F_DEFLATE_ON_OOM;
    }

    @Override
    public long readConfig(int offset, int size) {
        long config = targetPages & 0xFFFF_FFFFL | (actualPages & 0xFFFF_FFFFL) << 32;
        return size == 8 ? config : (config >>> (8 * offset)) & ((1L << (8 * size)) - 1);
    }

    @Override
    public void writeConfig(int offset, int size, long value) {
        if (offset == CFG_ACTUAL && size == 4) {
            actualPages = value & 0xFFFF_FFFFL;
        }
    }

    @Override
    public void activate(long features) {
        activeFeatures = features;
    }

    @Override
    public synchronized void reset() {
        activeFeatures = 0;
        actualPages = 0;
        statsHead = -1;
    }

    @Override
    public void process(int queue, VirtioTransport transport) {
        if (queue == STATS_QUEUE) {
            if (VirtioFeatures.has(activeFeatures, F_STATS_VQ)) {
                statistics(transport);
            }
            return;
        }
        Virtqueue q = transport.queue(queue);
        GuestMemory memory = transport.memory();
        do {
            int head;
            while ((head = q.pop()) >= 0) {
                if (queue == INFLATE_QUEUE) {
                    inflate(memory, q.chain());
                }
                q.pushUsed(head, 0);
            }
            if (head == Virtqueue.MALFORMED) {
                transport.queueBroken(queue);
                return;
            }
            transport.signalUsed(queue);
        } while (q.armNotification());
    }

    /** Reclaims the chain's frames, a run of consecutive frames at a time. */
    private void inflate(GuestMemory memory, DescriptorChain chain) {
        long frames = Math.min(chain.readableBytes() / 4, MAX_PFNS_PER_REQUEST);
        long runStart = -1;
        long runLength = 0;
        for (long i = 0; i < frames; i++) {
            long pfn = chain.readLe(memory, 4 * i, 4);
            if (pfn >= ramPages) {
                continue;
            }
            if (runStart >= 0 && pfn == runStart + runLength) {
                runLength++;
                continue;
            }
            reclaim(runStart, runLength);
            runStart = pfn;
            runLength = 1;
        }
        reclaim(runStart, runLength);
    }

    private void reclaim(long firstPfn, long pages) {
        if (firstPfn >= 0 && pages > 0) {
            reclaimer.reclaim(firstPfn << PAGE_SHIFT, pages << PAGE_SHIFT);
            synchronized (this) {
                reclaimedPages += pages;
            }
        }
    }

    /**
     * The statistics queue (§5.5.6.3): a new buffer carries fresh numbers and stays with the device; the held one
     * goes back to the driver when the host wants an update (or when the driver sends another one).
     */
    private void statistics(VirtioTransport transport) {
        Virtqueue q = transport.queue(STATS_QUEUE);
        GuestMemory memory = transport.memory();
        if (statsWanted && statsHead >= 0) {
            statsWanted = false;
            q.pushUsed(statsHead, 0);
            statsHead = -1;
            transport.signalUsed(STATS_QUEUE);
        }
        int head;
        while ((head = q.pop()) >= 0) {
            readStatistics(memory, q.chain());
            if (statsHead >= 0) {
                q.pushUsed(statsHead, 0);
            }
            statsHead = head;
        }
        if (head == Virtqueue.MALFORMED) {
            transport.queueBroken(STATS_QUEUE);
            return;
        }
        transport.signalUsed(STATS_QUEUE);
        q.armNotification();
    }

    private synchronized void readStatistics(GuestMemory memory, DescriptorChain chain) {
        long entries = Math.min(chain.readableBytes() / STAT_SIZE, 64);
        for (long i = 0; i < entries; i++) {
            int tag = (int) chain.readLe(memory, STAT_SIZE * i, 2);
            if (tag < TAGS) {
                statistics[tag] = chain.readLe(memory, STAT_SIZE * i + 2, 8);
                statsValid |= 1 << tag;
            }
        }
        statsUpdates++;
    }

    @Override
    public synchronized VirtioBalloonState save() {
        return new VirtioBalloonState(VirtioBalloonState.VERSION, targetPages, actualPages, activeFeatures, statsHead,
                statistics, statsValid, statsUpdates);
    }

    @Override
    public synchronized void restore(VirtioBalloonState s) {
        if (s.version() != VirtioBalloonState.VERSION || s.statistics().length != TAGS
                || s.statsHead() < -1 || s.statsHead() >= QUEUE_SIZE) {
            throw new IllegalArgumentException("virtio-balloon state of another version or shape");
        }
        targetPages = s.targetPages();
        actualPages = s.actualPages();
        activeFeatures = s.activeFeatures();
        statsHead = s.statsHead();
        System.arraycopy(s.statistics(), 0, statistics, 0, TAGS);
        statsValid = s.statsValid();
        statsUpdates = s.statsUpdates();
    }
}
