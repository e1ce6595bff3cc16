package dev.hako.host;

import dev.hako.devices.backend.CharBackend;
import dev.hako.devices.backend.CharFrontend;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A VM's serial console on a host: keeps the last {@link #CAPACITY} bytes the guest printed in a ring, and hands
 * new output to any number of {@link Viewer}s every {@link #FLUSH_MILLIS} ms (a viewer that attaches late gets the
 * ring first, so it sees the recent output). Input from any viewer goes to the guest in the order it arrives.
 * The guest's UART calls {@link #write} with its lock held: a byte goes into the ring and nothing else happens
 * there, except that the first byte after a flush wakes the flusher (a virtual thread per console), which waits
 * {@link #FLUSH_MILLIS} ms to gather more and does the fan-out. A quiet console costs no wake-ups.
 */
public final class ConsoleHub implements CharBackend, AutoCloseable {
    public static final int CAPACITY = 64 * 1024;
    static final long FLUSH_MILLIS = 20;
    /** How long input waits for room in the guest's receive FIFO before the rest of it is dropped. */
    private static final long INPUT_PATIENCE_MILLIS = 2000;

    /** Someone watching the console: gets output in order, from the flusher thread. */
    public interface Viewer {
        void output(byte[] bytes);
    }

    private final Object lock = new Object();
    private final byte[] ring = new byte[CAPACITY];
    private final List<Viewer> viewers = new CopyOnWriteArrayList<>();
    private final Object inputLock = new Object();
    private final Object flushLock = new Object();
    /** Bytes the guest wrote ever, and those of them handed to the viewers (both under {@link #lock}). */
    private long written, flushed;
    private volatile CharFrontend frontend;
    private volatile boolean closed;
    /** Output waits for the flusher, which was woken for it (under {@link #lock}). */
    private boolean pending;
    private final Thread flusher;

    public ConsoleHub(String name) {
        flusher = Thread.ofVirtual().name("console-" + name).start(this::flushPeriodically);
    }

    @Override
    public void write(int b) {
        boolean wake;
        synchronized (lock) {
            ring[(int) (written % CAPACITY)] = (byte) b;
            written++;
            wake = !pending;
            pending = true;
        }
        if (wake) {
            LockSupport.unpark(flusher);
        }
    }

    @Override
    public void attach(CharFrontend frontend) {
        this.frontend = frontend;
    }

    /** Adds {@code viewer}; returns the recent output it should show first (what was handed to viewers so far). */
    public byte[] attach(Viewer viewer) {
        synchronized (lock) {
            viewers.add(viewer);
            return copy(Math.max(0, flushed - CAPACITY), flushed);
        }
    }

    public void detach(Viewer viewer) {
        viewers.remove(viewer);
    }

    /** The recent output, up to {@link #CAPACITY} bytes. */
    public byte[] recent() {
        synchronized (lock) {
            return copy(Math.max(0, written - CAPACITY), written);
        }
    }

    /**
     * Types {@code bytes} into the guest, waiting while its UART has no room; false if the guest took not all of
     * them (no machine running, or its FIFO stayed full for {@link #INPUT_PATIENCE_MILLIS} ms).
     */
    public boolean input(byte[] bytes) {
        synchronized (inputLock) {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(INPUT_PATIENCE_MILLIS);
            for (byte b : bytes) {
                CharFrontend f = frontend;
                while (f == null || !f.receive(b & 0xFF)) {
                    if (f == null || closed || System.nanoTime() > deadline) {
                        return false;
                    }
                    try {
                        TimeUnit.MILLISECONDS.sleep(1);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return false;
                    }
                    f = frontend;
                }
            }
            return true;
        }
    }

    /** The machine that fed this console ended: input is refused until the next one attaches. */
    public void detachFrontend() {
        frontend = null;
    }

    /** Hands the output since the last flush to the viewers now; whole flushes one at a time, so in order. */
    void flush() {
        synchronized (flushLock) {
            flushInOrder();
        }
    }

    private void flushInOrder() {
        byte[] fresh;
        List<Viewer> targets;
        synchronized (lock) {
            if (flushed == written) {
                return;
            }
            fresh = copy(Math.max(flushed, written - CAPACITY), written);
            flushed = written;
            pending = false;
            targets = List.copyOf(viewers);
        }
        for (Viewer viewer : targets) {
            try {
                viewer.output(fresh);
            } catch (RuntimeException e) {
                viewers.remove(viewer); // a viewer that fails (a closed socket) is dropped, the others go on
            }
        }
    }

    /** Bytes {@code from..to-1} of the output; the caller holds {@link #lock} and keeps them within the ring. */
    private byte[] copy(long from, long to) {
        byte[] out = new byte[(int) (to - from)];
        int start = (int) (from % CAPACITY);
        int first = Math.min(out.length, CAPACITY - start);
        System.arraycopy(ring, start, out, 0, first);
        System.arraycopy(ring, 0, out, first, out.length - first);
        return out;
    }

    private void flushPeriodically() {
        while (!closed) {
            LockSupport.park(this);
            try {
                TimeUnit.MILLISECONDS.sleep(FLUSH_MILLIS);
            } catch (InterruptedException e) {
                break;
            }
            flush();
        }
        flush();
    }

    @Override
    public void close() {
        closed = true;
        flusher.interrupt();
    }
}
