package dev.hako.devices.virtio.vsock;

import dev.hako.core.memory.GuestMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * A fixed-capacity byte queue between guest memory and a host channel, so that a connection's buffering is
 * bounded by construction. Moving bytes allocates nothing: channel I/O goes through one {@link ByteBuffer} view of
 * the array, positioned on the contiguous part each call can use. Not thread-safe: its connection's owner locks.
 */
final class ByteRing {
    private final byte[] bytes;
    private final ByteBuffer view;
    private int start;
    private int count;

    ByteRing(int capacity) {
        bytes = new byte[capacity];
        view = ByteBuffer.wrap(bytes);
    }

    int size() {
        return count;
    }

    int space() {
        return bytes.length - count;
    }

    boolean isEmpty() {
        return count == 0;
    }

    void clear() {
        start = 0;
        count = 0;
    }

    /** Appends {@code length} bytes from guest memory at {@code gpa} (the caller checked {@link #space}). */
    void putFromGuest(GuestMemory memory, long gpa, int length) {
        int done = 0;
        while (done < length) {
            int tail = (start + count) % bytes.length;
            int chunk = Math.min(length - done, bytes.length - tail);
            memory.read(gpa + done, bytes, tail, chunk);
            count += chunk;
            done += chunk;
        }
    }

    /** Moves the oldest {@code length} bytes (at most {@link #size}) into guest memory at {@code gpa}. */
    void takeToGuest(GuestMemory memory, long gpa, int length) {
        int done = 0;
        while (done < length) {
            int chunk = Math.min(length - done, bytes.length - start);
            memory.write(gpa + done, bytes, start, chunk);
            consume(chunk);
            done += chunk;
        }
    }

    /** The byte {@code index} places after the oldest. */
    int peek(int index) {
        return bytes[(start + index) % bytes.length] & 0xFF;
    }

    void consume(int length) {
        start = (start + length) % bytes.length;
        count -= length;
        if (count == 0) {
            start = 0;
        }
    }

    /** Reads what {@code channel} has into the free space; -1 at end of stream, else the bytes read. */
    int readFrom(ReadableByteChannel channel) throws IOException {
        int total = 0;
        while (count < bytes.length) {
            int tail = (start + count) % bytes.length;
            view.limit(Math.min(bytes.length, tail + space())).position(tail);
            int n = channel.read(view);
            if (n < 0) {
                return total == 0 ? -1 : total;
            }
            if (n == 0) {
                break;
            }
            count += n;
            total += n;
        }
        return total;
    }

    /** Writes as much as {@code channel} takes now; returns the bytes written. */
    int writeTo(WritableByteChannel channel) throws IOException {
        int total = 0;
        while (count > 0) {
            view.limit(Math.min(bytes.length, start + count)).position(start);
            int n = channel.write(view);
            if (n == 0) {
                break;
            }
            consume(n);
            total += n;
        }
        return total;
    }
}
