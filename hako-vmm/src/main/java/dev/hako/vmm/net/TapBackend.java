package dev.hako.vmm.net;

import dev.hako.devices.backend.NetBackend;
import dev.hako.devices.virtio.net.VirtioNet;
import dev.hako.sys.Errno;
import dev.hako.sys.Fcntl;
import dev.hako.sys.Poll;
import dev.hako.sys.Tun;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * A TAP device of the host (one that exists, or one hako creates when it may): frames with the 12-byte
 * virtio-net header (IFF_VNET_HDR, TUNSETVNETHDRSZ) in both directions, so the guest's checksum and segmentation
 * offloads pass through untouched, and the kernel hands the guest only the offloads it negotiated
 * (TUNSETOFFLOAD). The descriptor is non-blocking; reads, writes and waits are raw syscalls on the device's own
 * native buffers, so a frame allocates nothing.
 */
public final class TapBackend implements NetBackend {
    private final String name;
    private final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment pollfd = Poll.pollfd(arena);
    /** The buffers last seen each way and their native addresses, so that a frame allocates no segment view. */
    private ByteBuffer lastIn, lastOut;
    private long lastInAddress, lastOutAddress;
    private volatile boolean closed;

    private TapBackend(String name, int fd) {
        this.name = name;
        this.fd = fd;
    }

    /** Attaches to TAP device {@code name} (creating it when it does not exist and hako may). */
    public static TapBackend open(String name) throws IOException {
        return new TapBackend(name, Tun.openTap(name, VNET_HEADER));
    }

    public String name() {
        return name;
    }

    @Override
    public boolean vnetHeader() {
        return true;
    }

    @Override
    public long offloads() {
        return VirtioNet.TAP_OFFLOADS;
    }

    @Override
    public void enableOffloads(long features) throws IOException {
        int offloads = 0;
        if (has(features, VirtioNet.F_GUEST_CSUM)) {
            offloads |= Tun.TUN_F_CSUM;
            offloads |= has(features, VirtioNet.F_GUEST_TSO4) ? Tun.TUN_F_TSO4 : 0;
            offloads |= has(features, VirtioNet.F_GUEST_TSO6) ? Tun.TUN_F_TSO6 : 0;
            offloads |= has(features, VirtioNet.F_GUEST_ECN) ? Tun.TUN_F_TSO_ECN : 0;
        }
        long r = Tun.setOffload(fd, offloads);
        if (r < 0) {
            throw new IOException("TAP device " + name + ": TUNSETOFFLOAD " + offloads + " failed with "
                    + Errno.describe(-r));
        }
    }

    private static boolean has(long features, int bit) {
        return (features & 1L << bit) != 0;
    }

    /** The native address of byte 0 of a direct buffer. */
    private static long address(ByteBuffer buffer) {
        return MemorySegment.ofBuffer(buffer.duplicate().clear()).address();
    }

    @Override
    public int receive(ByteBuffer into) throws IOException {
        if (closed) {
            return -1;
        }
        if (into != lastIn) {
            lastInAddress = address(into);
            lastIn = into;
        }
        long r = Tun.read(fd, lastInAddress + into.position(), into.remaining());
        if (r < 0) {
            throw new IOException("TAP device " + name + ": read failed with " + Errno.describe(-r));
        }
        into.position(into.position() + (int) r);
        return (int) r;
    }

    @Override
    public boolean send(ByteBuffer frame) throws IOException {
        if (frame != lastOut) {
            lastOutAddress = address(frame);
            lastOut = frame;
        }
        long r = Tun.write(fd, lastOutAddress + frame.position(), frame.remaining());
        if (r == 0) {
            return false;
        }
        if (r < 0) {
            throw new IOException("TAP device " + name + ": write failed with " + Errno.describe(-r));
        }
        frame.position(frame.limit());
        return true;
    }

    @Override
    public boolean await(boolean frames, long millis) throws IOException {
        if (closed) {
            return false;
        }
        long r = Poll.poll(pollfd, fd, frames ? Poll.POLLIN : Poll.POLLOUT, (int) millis);
        if (r < 0) {
            throw new IOException("TAP device " + name + ": poll failed with " + Errno.describe(-r));
        }
        return !closed;
    }

    @Override
    public long dropped() {
        return 0;  // the kernel counts what the TAP's queue drops (ip -s link)
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Fcntl.close(fd);
            arena.close();
        }
    }
}
