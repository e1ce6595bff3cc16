package dev.hako.vmm.machine;

import dev.hako.devices.backend.CharBackend;
import dev.hako.devices.backend.CharFrontend;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** A serial console for tests: records what the guest prints and types into it. */
public final class RecordingConsole implements CharBackend {
    private final StringBuffer output = new StringBuffer();
    private volatile CharFrontend frontend;

    @Override
    public void write(int b) {
        synchronized (output) {
            output.append((char) b);
            output.notifyAll();
        }
    }

    @Override
    public void attach(CharFrontend frontend) {
        this.frontend = frontend;
    }

    String output() {
        return output.toString();
    }

    /** The last {@code lines} lines of the output, for a failure message that a truncated CI log still shows. */
    String tail(int lines) {
        String all = output();
        int at = all.length();
        for (int i = 0; i < lines && at > 0; i++) {
            at = all.lastIndexOf('\n', at - 1);
        }
        return all.substring(Math.max(at, 0));
    }

    /** Waits until the output contains {@code text} after position {@code from}; returns its index or -1. */
    int await(String text, int from, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (output) {
            while (true) {
                int at = output.indexOf(text, from);
                if (at >= 0) {
                    return at;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return -1;
                }
                TimeUnit.NANOSECONDS.timedWait(output, left);
            }
        }
    }

    /** Types {@code text} as a person would, a byte at a time, waiting while the UART's FIFO is full. */
    void type(String text) throws InterruptedException {
        for (byte b : text.getBytes(StandardCharsets.US_ASCII)) {
            while (!frontend.receive(b & 0xFF)) {
                Thread.sleep(1);
            }
        }
    }
}
