package dev.hako.devices.virtio.rng;

import dev.hako.core.memory.GuestMemory;
import dev.hako.core.state.Snapshotable;
import dev.hako.core.time.TimerQueue;
import dev.hako.core.time.VirtualClock;
import dev.hako.devices.backend.EntropySource;
import dev.hako.devices.virtio.DescriptorChain;
import dev.hako.devices.virtio.VirtioDevice;
import dev.hako.devices.virtio.VirtioDeviceType;
import dev.hako.devices.virtio.VirtioTransport;
import dev.hako.devices.virtio.Virtqueue;

/**
 * An entropy device (virtio 1.2 §5.4): one request queue whose device-writable buffers are filled from the host's
 * {@link EntropySource}; no feature bits and no configuration space. The guest's Linux driver (virtio_rng) shows
 * it as /dev/hwrng.
 *
 * <p>Rate-limited by a token bucket ({@code bytesPerSecond}, bursts of up to a quarter second's worth, at least
 * 64 KiB): a request is filled with what the bucket holds (a shorter used length is allowed, §5.4.6.1), and when
 * the bucket is empty requests wait in the ring until a timer refills it and processes the queue from the timer
 * thread. Device-readable segments of a chain are ignored (the driver should not send any); a chain without
 * writable bytes completes with nothing written. At most 64 KiB go into one request. Processing allocates nothing.
 *
 * <p>Guest control: only the request stream. Not implemented: nothing of the device type is left out.
 */
public final class VirtioRng implements VirtioDevice, Snapshotable<VirtioRngState> {
    public static final int DEVICE_ID = 4;
    /** PCI class "other" (QEMU shows virtio-rng the same way). */
    public static final int CLASS_OTHER = 0xFF0000;
    public static final int QUEUE_SIZE = 64, MAX_REQUEST_BYTES = 64 * 1024;
    public static final long DEFAULT_BYTES_PER_SECOND = 4L << 20, MAX_BYTES_PER_SECOND = 1L << 32;
    private static final long MIN_BURST = 64 * 1024, NANOS_PER_SECOND = 1_000_000_000L;
    private static final VirtioDeviceType TYPE = new VirtioDeviceType(DEVICE_ID, CLASS_OTHER, 1, QUEUE_SIZE, 0);

    private final EntropySource entropy;
    private final VirtualClock clock;
    private final TimerQueue.Timer refill;
    private final long bytesPerSecond;
    private final long burst;
    private VirtioTransport transport;
    private long tokens;
    private long lastRefill;

    /** @param bytesPerSecond the sustained rate the guest may draw (positive) */
    public VirtioRng(EntropySource entropy, TimerQueue timers, long bytesPerSecond) {
        if (bytesPerSecond <= 0 || bytesPerSecond > MAX_BYTES_PER_SECOND) {
            throw new IllegalArgumentException("virtio-rng rate " + bytesPerSecond + " bytes/s is outside 1.."
                    + MAX_BYTES_PER_SECOND);
        }
        this.entropy = entropy;
        this.clock = timers.clock();
        this.bytesPerSecond = bytesPerSecond;
        this.burst = Math.max(MIN_BURST, bytesPerSecond / 4);
        this.tokens = burst;
        this.lastRefill = clock.nanos();
        this.refill = timers.newTimer(this::refilled);
    }

    @Override
    public VirtioDeviceType type() {
        return TYPE;
    }

    @Override
    public void connect(VirtioTransport transport) {
        this.transport = transport;
    }

    private void refilled() {
        if (transport != null) {
            transport.processFromHost(0);
        }
    }

    @Override
    public long features() {
        return 0;
    }

    @Override
    public long readConfig(int offset, int size) {
        return 0;
    }

    @Override
    public void writeConfig(int offset, int size, long value) {
        // no configuration space
    }

    @Override
    public void activate(long features) {
        // nothing to negotiate
    }

    @Override
    public void reset() {
        refill.cancel();
    }

    @Override
    public void process(int queue, VirtioTransport transport) {
        Virtqueue q = transport.queue(queue);
        GuestMemory memory = transport.memory();
        do {
            topUp();
            int head = Virtqueue.EMPTY;
            while (tokens > 0 && (head = q.pop()) >= 0) {
                DescriptorChain chain = q.chain();
                long n = Math.min(Math.min(chain.writableBytes(), MAX_REQUEST_BYTES), tokens);
                fill(memory, chain, n);
                tokens -= n;
                q.pushUsed(head, n);
            }
            if (head == Virtqueue.MALFORMED) {
                transport.queueBroken(queue);
                return;
            }
            transport.signalUsed(queue);
            if (tokens == 0) {
                // The rest waits in the ring until the bucket holds a request's worth again.
                refill.armAfter(Math.max(1, MIN_BURST / 16 * NANOS_PER_SECOND / bytesPerSecond));
                return;
            }
        } while (q.armNotification());
    }

    private void topUp() {
        long now = clock.nanos();
        long elapsed = now - lastRefill;
        if (elapsed <= 0) {
            return;
        }
        long earned = elapsed >= NANOS_PER_SECOND ? burst : Math.min(burst, elapsed * bytesPerSecond / NANOS_PER_SECOND);
        if (earned > 0) {
            tokens = Math.min(burst, tokens + earned);
            lastRefill = now;
        }
    }

    private void fill(GuestMemory memory, DescriptorChain chain, long bytes) {
        long left = bytes;
        for (int s = chain.readableSegments(); s < chain.segments() && left > 0; s++) {
            long n = Math.min(chain.length(s), left);
            entropy.fill(memory.segment(), chain.address(s), n);
            memory.written(chain.address(s), n);
            left -= n;
        }
    }

    @Override
    public VirtioRngState save() {
        return new VirtioRngState(VirtioRngState.VERSION);
    }

    @Override
    public void restore(VirtioRngState state) {
        if (state.version() != VirtioRngState.VERSION) {
            throw new IllegalArgumentException("virtio-rng state version " + state.version());
        }
    }
}
