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
 * destination → source:
 *   byte READY, int n, n bytes of a UNIX socket path, 16 bytes of token (n = 0: no path, no token)
 *                  the destination built the machine from the spec and takes pages, and passt's sockets there
 *                  ({@link PasstHandover})
 *   byte RESUMED   the destination restored every component and its guest runs
 * </pre>
 * A destination that cannot go on closes the connection; the source never stops its guest before RESUMED. The
 * source sends HANDOVER and STATE only after it handed over passt and released its disk images.
 */
final class MigrationStream {
    static final long MAGIC = 0x48414B4F4D494752L;  // "HAKOMIGR"
    /** The version this build sends and the newest it takes. */
    static final int VERSION = 3;
    static final byte ZERO_PAGE = 1, DATA_PAGE = 2, STATE = 3, HANDOVER = 4;
    static final byte READY = 'R', RESUMED = 'G';
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
