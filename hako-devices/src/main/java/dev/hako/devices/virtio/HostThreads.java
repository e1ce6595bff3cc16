package dev.hako.devices.virtio;

import java.util.concurrent.TimeUnit;

/** The host threads of devices (vsock's socket thread, virtio-net's pump) end with their device. */
public final class HostThreads {
    /** How long a closing device waits for its thread, which was told to stop, to end. */
    private static final long GRACE_SECONDS = 5;

    private HostThreads() {}

    /** Waits a bounded time for {@code thread} (null when it never started) to end. */
    public static void awaitEnd(Thread thread) {
        if (thread == null) {
            return;
        }
        try {
            thread.join(TimeUnit.SECONDS.toMillis(GRACE_SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
