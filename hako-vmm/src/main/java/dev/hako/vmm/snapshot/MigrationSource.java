package dev.hako.vmm.snapshot;

import dev.hako.core.memory.DirtyPages;
import dev.hako.sys.UnixSocket;
import dev.hako.vmm.image.disk.HandoverDisk;
import dev.hako.vmm.machine.Disk;
import dev.hako.vmm.machine.Machine;
import dev.hako.vmm.net.PasstBackend;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The source side of a live migration ({@link MigrationStream}): iterative pre-copy of the RAM while the guest runs,
 * then a short stop-and-copy of what is left and of every component's state.
 *
 * <p>Rounds: dirty logging starts with every page dirty; each round harvests the log ({@link DirtyPages#harvest},
 * which makes every vCPU forget its write translations before the pages are read) and sends those pages, zero pages
 * as a marker. Rounds go on while the guest runs until fewer than {@link #STOP_PAGES} pages are dirty or after
 * {@link #MAX_ROUNDS}; then the guest is paused ({@link Machine#pause}: no vCPU in guest code, no device work from the
 * host), the last dirty pages and the machine document go, and the source waits for the destination's LOADED.
 * The end is a two-step commit (QEMU's "postmigrate"). Before GO the guest is this side's: any failure up to and
 * including the wait for LOADED (a refused connection, a broken one, a destination that closes or does not answer
 * within {@link #ANSWER_MILLIS}) stops the log, takes passt and the disks back and resumes the guest if this side
 * paused it, and is reported as a {@link MigrationException}. On LOADED the source writes GO, and from then on the
 * guest is the destination's: RESUMED ends the source's part (the caller stops the source's machine), and a
 * connection that fails instead leaves the outcome unknown: the guest stays paused here
 * ({@link MigrationOutcomeUnknownException}, whose {@link PausedSource} resumes it on the user's word).
 *
 * <p>The switch, with the guest paused: passt's sockets go to the destination ({@link PasstHandover}) where it
 * offered a socket this host reaches, then every disk image is released ({@link HandoverDisk#release}), and only
 * then the state goes, after which the destination opens the images. A failure before GO takes passt back and opens
 * the images again before the guest resumes, waiting for the destination to let go of them (it does when it sees
 * the connection end, or when GO does not come in time); an image that stays locked longer (another process holds
 * it) stops the guest here instead, as two guests writing one disk would corrupt it.
 */
public final class MigrationSource {
    /** Pre-copy rounds at most: a guest that dirties pages faster than they go is stopped after these. */
    static final int MAX_ROUNDS = 30;
    /** Dirty pages few enough to send with the guest paused (4 MiB: a few ms over loopback). */
    static final long STOP_PAGES = 1024;
    private static final int CONNECT_MILLIS = 5_000;
    private static final int ANSWER_MILLIS = 30_000;
    /** Beyond the destination's wait for GO: the time it takes to close its machine and free the images. */
    private static final int LOCK_MARGIN_MILLIS = 5_000;
    private static final int LOCK_RETRY_MILLIS = 50;

    private final Machine machine;
    private final String target;
    private final List<HandoverDisk> disks = new ArrayList<>();
    private final List<PasstBackend> passts;
    private long dataPages;
    private long lastPages;
    /** Where the destination takes passt's sockets; null: it offers no handover. */
    private PasstHandover.Offer offer;
    /** The connection to the destination's handover socket, -1 when it cannot be reached. */
    private int handoverSocket = -1;
    private boolean passtHandedOver;
    private boolean disksReleased;
    /** GO went to the destination: from then on the guest is the destination's to run. */
    private boolean goSent;

    private MigrationSource(Machine machine, String target) {
        this.machine = machine;
        this.target = target;
        for (Disk disk : machine.config().disks()) {
            disks.add((HandoverDisk) disk.backend());
        }
        this.passts = PasstHandover.backends(machine);
    }

    /**
     * Moves {@code machine} (running or paused, on the soft CPU) to the destination listening at {@code host}:
     * {@code port} ({@code hako run --incoming}); on success the machine is paused here and the caller stops it.
     */
    public static MigrationResult migrate(Machine machine, String host, int port)
            throws MigrationException, InterruptedException {
        String target = host + ":" + port;
        MachineSpec spec = checkedSpec(machine, target);
        return new MigrationSource(machine, target).run(spec, host, port);
    }

    private static MachineSpec checkedSpec(Machine machine, String target) throws MigrationException {
        if (!"soft".equals(machine.accelerator())) {
            throw new MigrationException("cannot migrate to " + target + ": live migration needs the soft CPU "
                    + "(KVM's dirty log is not wired to hako's yet)");
        }
        MachineSpec spec;
        try {
            spec = MachineSpec.of(machine.config(), machine.accelerator());
        } catch (SnapshotException e) {
            throw new MigrationException("cannot migrate to " + target + ": " + e.getMessage());
        }
        return spec;
    }

    private MigrationResult run(MachineSpec spec, String host, int port)
            throws MigrationException, InterruptedException {
        long begin = System.nanoTime();
        DirtyPages log = machine.dirtyPages();
        boolean pausedHere = false;
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), CONNECT_MILLIS);
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(ANSWER_MILLIS);
            CountingStream counted = new CountingStream(socket.getOutputStream());
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(counted, 1 << 20));
            DataInputStream in = new DataInputStream(socket.getInputStream());
            out.writeLong(MigrationStream.MAGIC);
            out.writeInt(MigrationStream.VERSION);
            byte[] specJson = MachineDocument.writeSpec(spec);
            out.writeInt(specJson.length);
            out.write(specJson);
            out.writeInt(disks.size());
            for (HandoverDisk disk : disks) {
                out.writeLong(disk.size());
            }
            out.flush();
            expect(in, MigrationStream.READY, "building the machine");
            offer = PasstHandover.readOffer(in);
            if (offer != null && !passts.isEmpty()) {
                handoverSocket = PasstHandover.connect(offer);
            }

            long[] dirty = new long[log.words()];
            byte[] buffer = new byte[MigrationStream.PAGE_SIZE];
            MemorySegment ram = machine.ram();
            log.start();
            int rounds = 0;
            do {
                log.harvest(dirty);
                sendPages(out, ram, dirty, buffer);
                rounds++;
            } while (rounds < MAX_ROUNDS && log.count() > STOP_PAGES && !machine.ended());

            long pauseBegin = System.nanoTime();
            if (!machine.paused()) {
                if (!machine.pause()) {
                    throw new MigrationException("cannot migrate to " + target + ": the guest ended");
                }
                pausedHere = true;
            }
            long pausedAt = System.nanoTime();
            log.harvest(dirty);
            long before = dataPages;
            sendPages(out, ram, dirty, buffer);
            lastPages = dataPages - before;
            switchOver(out, spec);
            long sent = System.nanoTime();
            expect(in, MigrationStream.LOADED, "loading the machine");
            long loaded = System.nanoTime();
            out.writeByte(MigrationStream.GO);
            out.flush();
            goSent = true;
            expect(in, MigrationStream.RESUMED, "starting the guest");
            long end = System.nanoTime();
            if (System.getenv("HAKO_DEBUG") != null) {
                System.err.printf("hako: migration downtime: %.1f ms pausing, %.1f ms sending, %.1f ms until the "
                        + "destination loaded, %.1f ms until it ran%n", (pausedAt - pauseBegin) / 1e6,
                        (sent - pausedAt) / 1e6, (loaded - sent) / 1e6, (end - loaded) / 1e6);
            }
            log.stop();
            if (passtHandedOver) {
                passts.forEach(PasstBackend::forget);
            }
            UnixSocket.close(handoverSocket);
            return new MigrationResult(end - begin, end - pausedAt, rounds, dataPages, lastPages, counted.count);
        } catch (IOException e) {
            if (goSent) {
                throw stayPaused(log, describe(e));
            }
            goOnHere(log, pausedHere);
            throw new MigrationException("migration to " + target + " failed, the guest runs on here: "
                    + describe(e));
        } catch (MigrationException | InterruptedException | RuntimeException e) {
            if (goSent) {
                throw stayPaused(log, e.getMessage());
            }
            goOnHere(log, pausedHere);
            throw e;
        }
    }

    /**
     * After GO, without RESUMED: the destination may run the guest, or may have died before it did; the source
     * cannot tell, so its guest stays paused, its disks released and passt shared, until the user decides.
     */
    private MigrationOutcomeUnknownException stayPaused(DirtyPages log, String why) {
        log.stop();
        UnixSocket.close(handoverSocket);
        return new MigrationOutcomeUnknownException("migration to " + target + ": outcome unknown after the switch: "
                + why + "; the guest stays paused here", new PausedSource(machine, target, disks, passts,
                passtHandedOver));
    }

    /**
     * With the guest paused: hands passt over (or leaves the destination to start its own), releases every disk
     * image (no request is in flight: requests run on the vCPU threads, which hold at the pause gate), and only then
     * sends the machine's state, after which the destination opens the images.
     */
    private void switchOver(DataOutputStream out, MachineSpec spec) throws IOException {
        Map<String, Record> states = new LinkedHashMap<>();
        machine.devices().snapshotables().forEach((id, component) -> states.put(id, component.save()));
        byte[] document = MachineDocument.write(spec, states);
        out.flush();  // the pages go while passt and the disks are handed over
        if (handoverSocket >= 0) {
            PasstHandover.send(handoverSocket, offer, passts);
            passtHandedOver = true;
        }
        disksReleased = true;
        for (HandoverDisk disk : disks) {
            disk.release();
        }
        out.writeByte(MigrationStream.HANDOVER);
        out.writeBoolean(passtHandedOver);
        out.writeByte(MigrationStream.STATE);
        out.writeInt(document.length);
        out.write(document);
        out.flush();
    }

    /**
     * After a failure before GO: takes passt and the disks back and resumes the guest if this side paused it. The
     * destination never runs the guest without GO, and releases the images once it sees the connection closed (or
     * after {@link MigrationStream#GO_WAIT_MILLIS}): an image locked longer than that is held by some other process,
     * and the guest is stopped here instead of resumed, as two guests writing one disk would corrupt it.
     */
    private void goOnHere(DirtyPages log, boolean pausedHere) throws MigrationException, InterruptedException {
        log.stop();
        if (passtHandedOver) {
            passts.forEach(PasstBackend::takeBack);
        }
        UnixSocket.close(handoverSocket);
        if (disksReleased) {
            long deadline = System.nanoTime() + (MigrationStream.GO_WAIT_MILLIS + LOCK_MARGIN_MILLIS) * 1_000_000L;
            while (true) {
                try {
                    HandoverDisk.acquireAll(disks);
                    break;
                } catch (IOException e) {
                    if (System.nanoTime() - deadline > 0) {
                        machine.stop("migration to " + target + " failed after the disks were handed over, and "
                                + "they cannot be opened again here: " + describe(e));
                        throw new MigrationException("migration to " + target + " failed after the disks were "
                                + "handed over; the guest is stopped here, not resumed, as another process holds "
                                + "its disk: " + describe(e));
                    }
                    Thread.sleep(LOCK_RETRY_MILLIS);
                }
            }
        }
        if (pausedHere) {
            machine.resume();
        }
    }

    private void sendPages(DataOutputStream out, MemorySegment ram, long[] dirty, byte[] buffer) throws IOException {
        for (int word = 0; word < dirty.length; word++) {
            for (long bits = dirty[word]; bits != 0; bits &= bits - 1) {
                int page = word << 6 | Long.numberOfTrailingZeros(bits);
                if (MigrationStream.sendPage(out, ram, page, buffer)) {
                    dataPages++;
                }
            }
        }
    }

    private void expect(DataInputStream in, byte answer, String step) throws IOException {
        int got;
        try {
            got = in.read();
        } catch (SocketTimeoutException e) {
            throw new IOException("the destination did not answer within " + ANSWER_MILLIS / 1000 + " s while "
                    + step, e);
        }
        if (got < 0) {
            throw new EOFException("the destination closed the connection while " + step
                    + " (its own message says why)");
        }
        if (got != answer) {
            throw new IOException("the destination answered " + got + " while " + step + ", not a hako migration");
        }
    }

    private static String describe(IOException e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    /** Counts the bytes that reach the socket. */
    private static final class CountingStream extends OutputStream {
        private final OutputStream out;
        long count;

        CountingStream(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }
    }
}
