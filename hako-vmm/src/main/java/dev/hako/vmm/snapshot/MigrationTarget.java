package dev.hako.vmm.snapshot;

import dev.hako.devices.backend.CharBackend;
import dev.hako.vmm.host.HostFile;
import dev.hako.vmm.image.disk.DiskFormat;
import dev.hako.vmm.image.disk.HandoverDisk;
import dev.hako.vmm.machine.Disk;
import dev.hako.vmm.machine.Machine;
import dev.hako.vmm.machine.MachineBuilder;
import dev.hako.vmm.machine.MachineConfig;
import dev.hako.vmm.net.PasstBackend;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The destination side of a live migration ({@link MigrationStream}, {@code hako run --incoming}): takes the first
 * connection, builds the machine the source's spec describes (fresh RAM, no kernel: {@link MachineBuilder#incoming}),
 * writes the pages as they come, and when the final machine document comes takes passt's sockets from the source
 * (or starts passts of its own), opens the disk images the source released (the machine was built on released
 * {@link HandoverDisk}s of the sizes the source gave), restores every component from the document and says
 * LOADED. {@link #resume} waits for the source's GO, starts the guest and acknowledges (RESUMED). Anything wrong
 * before GO (a stream that is not a hako migration, another version, a bad spec or state, a source that goes away or
 * falls silent for {@link #SILENCE_MILLIS}, no GO within {@link MigrationStream#GO_WAIT_MILLIS}) closes what was
 * built, the images released, and is one line in a {@link MigrationException}: the guest never ran here, the source
 * keeps it. After GO the guest is this side's: it runs on even if RESUMED cannot reach the source, which keeps its
 * own paused.
 */
public final class MigrationTarget implements AutoCloseable {
    /** The longest the source may stay silent: it sends without pauses until the last record. */
    private static final int SILENCE_MILLIS = 30_000;

    private final Socket socket;
    private final DataInputStream in;
    private final Machine machine;
    private final String source;
    private final PrintStream log;
    private boolean resumed;

    private MigrationTarget(Socket socket, DataInputStream in, Machine machine, String source, PrintStream log) {
        this.socket = socket;
        this.in = in;
        this.machine = machine;
        this.source = source;
        this.log = log;
    }

    /**
     * Waits for a source on {@code listener} and receives its machine, with the serial console (and a virtio
     * console) on {@code console}, up to the point where it can run: every page and component restored.
     */
    public static MigrationTarget accept(ServerSocket listener, CharBackend console, PrintStream log)
            throws MigrationException {
        Socket socket;
        try {
            socket = listener.accept();
        } catch (IOException e) {
            throw new MigrationException("incoming migration: cannot accept a connection: " + e.getMessage());
        }
        String source = socket.getRemoteSocketAddress().toString();
        Machine machine = null;
        PasstHandover.Listener handover = null;
        try {
            socket.setSoTimeout(SILENCE_MILLIS);
            socket.setTcpNoDelay(true);
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 20));
            MachineSpec spec = readHeader(in);
            List<HandoverDisk> disks = releasedDisks(spec, in);
            List<Disk> unopened = new ArrayList<>();
            for (int i = 0; i < disks.size(); i++) {
                unopened.add(new Disk(disks.get(i), spec.disks().get(i).serial()));
            }
            MachineConfig config = spec.toConfig(unopened, console);
            try {
                machine = new MachineBuilder(config, console, log).incoming().build();
            } catch (IOException | RuntimeException e) {
                throw new MigrationException("incoming migration from " + source + ": cannot build the machine: "
                        + (e instanceof IOException io ? HostFile.describe(io) : e.getMessage()));
            }
            MachineSnapshots.prepareReading(machine, spec);
            List<PasstBackend> passts = PasstHandover.backends(machine);
            if (!passts.isEmpty()) {
                handover = PasstHandover.Listener.open();
            }
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            out.write(MigrationStream.READY);
            PasstHandover.writeOffer(out, handover == null ? null : handover.offer());
            out.flush();
            receive(in, machine, disks, passts, handover);
            out.write(MigrationStream.LOADED);
            out.flush();
            return new MigrationTarget(socket, in, machine, source, log);
        } catch (SocketTimeoutException e) {
            closeAll(socket, machine);
            throw new MigrationException("incoming migration from " + source + " failed: the source fell silent "
                    + "for " + SILENCE_MILLIS / 1000 + " s");
        } catch (EOFException e) {
            closeAll(socket, machine);
            throw new MigrationException("incoming migration from " + source + " failed: the source closed the "
                    + "connection before the machine was complete");
        } catch (IOException e) {
            closeAll(socket, machine);
            throw new MigrationException("incoming migration from " + source + " failed: " + e.getMessage());
        } catch (SnapshotException e) {
            closeAll(socket, machine);
            throw new MigrationException("incoming migration from " + source + " refused: " + e.getMessage());
        } catch (MigrationException | RuntimeException e) {
            closeAll(socket, machine);
            throw e;
        } finally {
            if (handover != null) {
                handover.close();
            }
        }
    }

    /**
     * The disks the spec names, of the sizes the header gives after it, not opened: the source still holds them.
     */
    private static List<HandoverDisk> releasedDisks(MachineSpec spec, DataInputStream in)
            throws IOException, SnapshotException {
        int count = in.readInt();
        if (count != spec.disks().size()) {
            throw new SnapshotException("the source gives the sizes of " + count + " disks for a machine of "
                    + spec.disks().size());
        }
        List<HandoverDisk> disks = new ArrayList<>();
        for (MachineSpec.DiskSpec d : spec.disks()) {
            long size = in.readLong();
            if (size <= 0 || size % 512 != 0) {
                throw new SnapshotException("the source's disk " + d.path() + " has a size of " + size + " bytes");
            }
            try {
                disks.add(HandoverDisk.released(Path.of(d.path()), DiskFormat.named(d.format()), d.readOnly(), size));
            } catch (IllegalArgumentException e) {
                throw new SnapshotException("the source's disk " + d.path() + ": " + e.getMessage());
            }
        }
        return disks;
    }

    private static MachineSpec readHeader(DataInputStream in) throws IOException, SnapshotException {
        if (in.readLong() != MigrationStream.MAGIC) {
            throw new SnapshotException("the peer does not speak hako's migration protocol");
        }
        int version = in.readInt();
        if (version != MigrationStream.VERSION) {
            throw new SnapshotException("the source sends migration version " + version + ", this hako takes "
                    + MigrationStream.VERSION);
        }
        return MachineDocument.readSpec(MigrationStream.readBlock(in, "a machine spec"), "the source's machine spec");
    }

    /**
     * Writes the pages into the machine's RAM until the machine document comes; then takes passt's sockets (or
     * starts passts of its own) and opens the disk images, which the source released before it sent the document,
     * and restores every component.
     */
    private static void receive(DataInputStream in, Machine machine, List<HandoverDisk> disks,
            List<PasstBackend> passts, PasstHandover.Listener handover) throws IOException, SnapshotException {
        boolean passtHandedOver = false;
        MemorySegment ram = machine.ram();
        long pages = ram.byteSize() / MigrationStream.PAGE_SIZE;
        byte[] buffer = new byte[MigrationStream.PAGE_SIZE];
        while (true) {
            int kind = in.readByte();
            if (kind == MigrationStream.HANDOVER) {
                passtHandedOver = in.readBoolean();
                if (passtHandedOver && handover == null) {
                    throw new SnapshotException("the source handed over passt, which this machine does not use");
                }
                continue;
            }
            if (kind == MigrationStream.STATE) {
                byte[] document = MigrationStream.readBlock(in, "the machine state");
                long arrived = System.nanoTime();
                MachineDocument read = MachineDocument.read(document, "the source's machine state");
                long parsed = System.nanoTime();
                takeNetworking(passts, passtHandedOver ? handover : null);
                for (HandoverDisk disk : disks) {
                    disk.acquire();
                }
                long opened = System.nanoTime();
                MachineSnapshots.restoreComponents(machine, read);
                if (System.getenv("HAKO_DEBUG") != null) {
                    System.err.printf("hako: the migrated state parsed in %.1f ms, passt and disks taken in %.1f ms, "
                            + "restored in %.1f ms%n", (parsed - arrived) / 1e6, (opened - parsed) / 1e6,
                            (System.nanoTime() - opened) / 1e6);
                }
                return;
            }
            int page = in.readInt();
            if (page < 0 || page >= pages || kind != MigrationStream.ZERO_PAGE && kind != MigrationStream.DATA_PAGE) {
                throw new SnapshotException("the source sent a record of kind " + kind + " for page " + page
                        + " of a machine of " + pages + " pages");
            }
            long at = (long) page * MigrationStream.PAGE_SIZE;
            if (kind == MigrationStream.DATA_PAGE) {
                in.readFully(buffer);
                MemorySegment.copy(buffer, 0, ram, ValueLayout.JAVA_BYTE, at, MigrationStream.PAGE_SIZE);
            } else if (ram.asSlice(at, MigrationStream.PAGE_SIZE).mismatch(MigrationStream.ZERO_SEGMENT) >= 0) {
                ram.asSlice(at, MigrationStream.PAGE_SIZE).fill((byte) 0);  // untouched pages stay uncommitted
            }
        }
    }

    /**
     * Goes on with the source's passt sockets from {@code handover}, or, where none came (the source is on another
     * host), starts a passt for each card now that the guest has left the source.
     */
    private static void takeNetworking(List<PasstBackend> passts, PasstHandover.Listener handover)
            throws IOException {
        if (handover == null) {
            for (PasstBackend passt : passts) {
                passt.startFresh();
            }
            return;
        }
        List<PasstBackend.Handover> received = handover.receive(passts.size());
        for (int i = 0; i < passts.size(); i++) {
            passts.get(i).adopt(received.get(i));
        }
    }

    /** The received machine, not started before {@link #resume}. */
    public Machine machine() {
        return machine;
    }

    /**
     * Waits for the source's GO, then starts the guest and tells the source, which then stops its own. Without GO
     * (the source went away, fell silent, or sent something else) the guest does not run here: a
     * {@link MigrationException}, and {@link #close} closes the machine. Once GO came the guest runs here even if
     * the source cannot be told: it keeps its own paused, not knowing.
     */
    public void resume() throws MigrationException {
        int go;
        try {
            socket.setSoTimeout(MigrationStream.GO_WAIT_MILLIS);
            go = in.read();
        } catch (SocketTimeoutException e) {
            throw new MigrationException("incoming migration from " + source + " failed: the source did not give "
                    + "the go-ahead within " + MigrationStream.GO_WAIT_MILLIS / 1000 + " s; the guest did not run "
                    + "here");
        } catch (IOException e) {
            throw new MigrationException("incoming migration from " + source + " failed before the go-ahead ("
                    + e.getMessage() + "); the guest did not run here");
        }
        if (go != MigrationStream.GO) {
            throw new MigrationException("incoming migration from " + source + " failed: the source "
                    + (go < 0 ? "closed the connection" : "sent " + go) + " instead of the go-ahead; the guest did "
                    + "not run here");
        }
        if (machine.ended()) {
            // Stopped while it waited (hako run was told to terminate): it must not tell the source it runs.
            throw new MigrationException("incoming migration from " + source + ": ended before the guest ran here ("
                    + machine.exitReason() + "); the source keeps its guest paused, to be resumed there");
        }
        resumed = true;
        machine.start();
        try {
            OutputStream out = socket.getOutputStream();
            out.write(MigrationStream.RESUMED);
            out.flush();
        } catch (IOException e) {
            log.println("hako: the migration's source could not be told that the guest runs here (" + e.getMessage()
                    + "); it keeps its own paused");
        }
    }

    /** Closes the connection; a machine that was not resumed is closed too. */
    @Override
    public void close() {
        closeAll(socket, resumed ? null : machine);
    }

    private static void closeAll(Socket socket, Machine machine) {
        try {
            socket.close();
        } catch (IOException e) {
            // the connection's end is all that was wanted
        }
        if (machine != null) {
            machine.close();
        }
    }
}
