package dev.hako.vmm.snapshot;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The live-migration wire format, over one TCP connection. All numbers big-endian.
 * <pre>
 * source → destination:
 *   header:  MAGIC (8 bytes "HAKOMIGR"), int VERSION, int n, n bytes of MachineSpec JSON,
 *            int disks, long size of each disk (the destination builds the devices before it may open the images)
 *   records: byte ZERO_PAGE, int page               the page is all zeros
 *            byte DATA_PAGE, int page, 4096 bytes   the page's bytes
 *            byte HANDOVER, byte passed             1: passt's sockets went over the handover socket; 0: start passt
 *            byte STATE, int n, n bytes             the machine document (machine.json's format): last record
 *   GO:      byte GO                                after LOADED: the destination may start the guest
 * destination → source:
 *   byte READY, int n, n bytes of a UNIX socket path, 16 bytes of token (n = 0: no path, no token)
 *                  the destination built the machine from the spec and takes pages, and passt's sockets there
 *                  ({@link PasstHandover})
 *   byte LOADED    the destination restored every component, took passt and opened (locked) the disk images; its
 *                  guest does not run before GO
 *   byte RESUMED   after GO: the guest runs there
 * </pre>
 * A two-step commit, as QEMU's "postmigrate": before GO the source owns the guest: a failure up to LOADED (a
 * destination that cannot go on closes the connection) leaves it to take passt and its disks back and resume. A
 * destination that never gets GO (EOF, {@link #GO_WAIT_MILLIS}) closes its machine, its guest never having run.
 * Once GO is written the destination owns the guest: if RESUMED does not come the source cannot tell whether the
 * guest runs there, and keeps its own paused. The source sends HANDOVER and STATE only after it handed over passt
 * and released its disk images.
 */
final class MigrationStream {
    static final long MAGIC = 0x48414B4F4D494752L;  // "HAKOMIGR"
    /** The version this build sends and the newest it takes. */
    static final int VERSION = 4;
    static final byte ZERO_PAGE = 1, DATA_PAGE = 2, STATE = 3, HANDOVER = 4, GO = 5;
    static final byte READY = 'R', LOADED = 'L', RESUMED = 'G';
    /**
     * How long a destination that sent LOADED waits for GO (the source answers at once) before it gives up, its
     * guest never run; the source may wait this long, and a little more, for the images' locks after a failure.
     */
    static final int GO_WAIT_MILLIS = 10_000;
    static final int PAGE_SIZE = 4096;
    /** The longest spec or document a destination reads: far above what a machine's state takes. */
    static final int MAX_DOCUMENT = 64 << 20;
    private static final byte[] ZEROS = new byte[PAGE_SIZE];
    /** A page of zeros to compare RAM pages with. */
    static final MemorySegment ZERO_SEGMENT = MemorySegment.ofArray(new byte[PAGE_SIZE]);

    private MigrationStream() {}

    /** Sends page {@code page} of {@code ram} (through {@code buffer}, a page long); true when it held data. */
    static boolean sendPage(DataOutputStream out, MemorySegment ram, int page, byte[] buffer) throws IOException {
        MemorySegment.copy(ram, ValueLayout.JAVA_BYTE, (long) page * PAGE_SIZE, buffer, 0, PAGE_SIZE);
        if (Arrays.equals(buffer, ZEROS)) {
            out.writeByte(ZERO_PAGE);
            out.writeInt(page);
            return false;
        }
        out.writeByte(DATA_PAGE);
        out.writeInt(page);
        out.write(buffer);
        return true;
    }

    /** Reads {@code n} bytes announced by the peer, refusing a length no hako sends. */
    static byte[] readBlock(DataInputStream in, String what) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > MAX_DOCUMENT) {
            throw new IOException("the source sent " + what + " of " + n + " bytes");
        }
        byte[] bytes = new byte[n];
        in.readFully(bytes);
        return bytes;
    }
}
