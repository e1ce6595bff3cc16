package dev.hako.testkit;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/**
 * A live migration destination's first answer, READY and its passt offer (hako-vmm's {@code MigrationStream}), for
 * test relays that pass it on whole before they watch the answers that follow byte by byte.
 */
public final class MigrationReady {
    private static final int TOKEN_BYTES = 16;

    private MigrationReady() {}

    /**
     * Copies READY, the offer's path length, and its UNIX socket path and token (a token may hold any byte);
     * false when the destination closed the connection first.
     */
    public static boolean pass(DataInputStream from, DataOutputStream to) throws IOException {
        int ready = from.read();
        if (ready < 0) {
            return false;
        }
        to.write(ready);
        int pathLength = from.readInt();
        to.writeInt(pathLength);
        if (pathLength > 0) {
            to.write(from.readNBytes(pathLength + TOKEN_BYTES));
        }
        to.flush();
        return true;
    }
}
