package dev.hako.devices.virtio.net;

import dev.hako.devices.backend.NetBackend;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * A network backend for tests: frames queued by the test go to the guest, frames the guest sends are kept, and the
 * test can make it refuse frames (a full socket) or end (passt exiting).
 */
final class FrameQueueBackend implements NetBackend {
    private final boolean vnetHeader;
    private final ArrayDeque<byte[]> toGuest = new ArrayDeque<>();
    final List<byte[]> sent = new ArrayList<>();
    volatile boolean refuse;
    volatile boolean ended;
    volatile long enabledOffloads = -1;
    volatile boolean closed;
    /** What {@link #mtu} and {@link #checksummedFrames} answer (a test sets them before the device starts). */
    int mtu;
    boolean checksummed;
    private long dropped;

    FrameQueueBackend(boolean vnetHeader) {
        this.vnetHeader = vnetHeader;
    }

    synchronized void queue(byte[] frame) {
        toGuest.add(frame);
        notifyAll();
    }

    synchronized int queued() {
        return toGuest.size();
    }

    synchronized List<byte[]> sent() {
        return List.copyOf(sent);
    }

    @Override
    public boolean vnetHeader() {
        return vnetHeader;
    }

    @Override
    public long offloads() {
        return vnetHeader ? VirtioNet.TAP_OFFLOADS : 0;
    }

    @Override
    public int mtu() {
        return mtu;
    }

    @Override
    public boolean checksummedFrames() {
        return checksummed;
    }

    @Override
    public void enableOffloads(long features) {
        enabledOffloads = features;
    }

    @Override
    public synchronized int receive(ByteBuffer into) {
        if (ended) {
            return -1;
        }
        byte[] frame = toGuest.poll();
        if (frame == null) {
            return 0;
        }
        if (frame.length > into.remaining()) {
            dropped++;
            return 0;
        }
        into.put(frame);
        return frame.length;
    }

    @Override
    public synchronized boolean send(ByteBuffer frame) {
        if (refuse) {
            return false;
        }
        byte[] copy = new byte[frame.remaining()];
        frame.get(copy);
        sent.add(copy);
        return true;
    }

    @Override
    public synchronized boolean await(boolean frames, long millis) throws java.io.IOException {
        if (!(frames && !toGuest.isEmpty()) && !ended) {
            try {
                wait(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return !ended;
    }

    @Override
    public synchronized long dropped() {
        return dropped;
    }

    @Override
    public synchronized void close() {
        closed = true;
        notifyAll();
    }
}
