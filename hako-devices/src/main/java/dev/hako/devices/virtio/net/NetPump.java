package dev.hako.devices.virtio.net;

import dev.hako.devices.backend.NetBackend;
import dev.hako.devices.virtio.HostThreads;
import dev.hako.devices.virtio.VirtioTransport;
import java.io.IOException;

/**
 * The host thread of a {@link VirtioNet}: it waits for the backend to have frames (only while the guest has
 * receive buffers, so a guest that stops reading stops the backend's reads) or to take frames again after it
 * refused one, and then has the transport run the receive or transmit queue, under the transport's lock as a
 * driver notification would. It never holds a lock while it waits, and notices that the backend ended.
 */
final class NetPump implements Runnable {
    /** How long one wait lasts before the thread looks whether it should stop. */
    private static final long WAIT_MILLIS = 100;
    /** The wait while a refused frame waits for room and frames are not wanted (the backend wakes it sooner). */
    private static final long BLOCKED_WAIT_MILLIS = 5;
    private static final System.Logger LOG = System.getLogger("dev.hako.devices.virtio");

    private final VirtioNet device;
    private final NetBackend backend;
    private final Object kick = new Object();
    private volatile boolean running = true;
    /** The guest has receive buffers for frames (set from the receive path, cleared when they ran out). */
    private volatile boolean receiveWanted;
    /** The backend refused a frame; the transmit queue waits for its room. */
    private volatile boolean transmitBlocked;
    private Thread thread;
    private VirtioTransport transport;

    NetPump(VirtioNet device, NetBackend backend) {
        this.device = device;
        this.backend = backend;
    }

    synchronized void start(VirtioTransport t) {
        if (thread == null) {
            transport = t;
            thread = Thread.ofPlatform().daemon().name("virtio-net " + device.mac()).start(this);
        }
    }

    /** Whether the guest can take frames now; when it becomes able, the thread waiting for it resumes. */
    void receiveWanted(boolean wanted) {
        if (wanted && !receiveWanted) {
            synchronized (kick) {
                receiveWanted = true;
                kick.notifyAll();
            }
        } else {
            receiveWanted = wanted;
        }
    }

    void transmitBlocked() {
        transmitBlocked = true;
    }

    void reset() {
        receiveWanted = false;
        transmitBlocked = false;
    }

    void close() {
        running = false;
        synchronized (kick) {
            kick.notifyAll();
        }
        Thread t;
        synchronized (this) {
            t = thread;
        }
        HostThreads.awaitEnd(t);
    }

    @Override
    public void run() {
        try {
            while (running) {
                if (receiveWanted || transmitBlocked) {
                    if (!backend.await(receiveWanted, receiveWanted ? WAIT_MILLIS : BLOCKED_WAIT_MILLIS)) {
                        device.backendEnded(transport);
                        return;
                    }
                } else {
                    waitForBuffers();
                }
                if (receiveWanted) {
                    receiveWanted = false;  // the receive path sets it again while the guest has buffers
                    transport.processFromHost(VirtioNet.RX_QUEUE);
                }
                if (transmitBlocked) {
                    transmitBlocked = false;
                    transport.processFromHost(VirtioNet.TX_QUEUE);
                }
            }
        } catch (IOException e) {
            if (running) {
                LOG.log(System.Logger.Level.ERROR, "virtio-net: the backend failed: {0}", e.getMessage());
                device.backendEnded(transport);
            }
        }
    }

    private void waitForBuffers() {
        synchronized (kick) {
            if (!receiveWanted && running) {
                try {
                    kick.wait(WAIT_MILLIS);
                } catch (InterruptedException e) {
                    running = false;
                }
            }
        }
    }
}
