package dev.hako.vmm.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.hako.devices.backend.CharBackend;
import dev.hako.vmm.image.disk.DiskFormat;
import dev.hako.vmm.image.disk.DiskImage;
import dev.hako.vmm.image.disk.DiskImages;
import dev.hako.vmm.image.disk.HandoverDisk;
import dev.hako.vmm.machine.Disk;
import dev.hako.vmm.machine.Machine;
import dev.hako.vmm.machine.MachineConfig;
import dev.hako.vmm.machine.TinyPvhKernel;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The order of a migration's disk handover, seen from a destination the test plays: a halting guest with a raw disk
 * migrates, and when the machine's state arrives the destination checks that it can take the image's write lock
 * (the source released it before it sent the state). A destination that then fails before LOADED leaves the source
 * holding its disk again and running; an image that stays locked beyond the destination's wait for GO (another
 * process holds it) leaves the source stopped, not resumed.
 */
class MigrationDiskHandoverTest {
    @TempDir
    Path work;

    /** What the played destination does once the state came, with the image it opened (null: it could not). */
    private interface AtState {
        void act(DataInputStream in, DataOutputStream out, DiskImage opened) throws IOException;
    }

    @Test
    void theSourceReleasesTheDiskBeforeItSendsTheStateAndStopsAfterResumed() throws Exception {
        try (Machine machine = machine()) {
            Played destination = play((in, out, opened) -> {
                out.writeByte(MigrationStream.LOADED);
                out.flush();
                assertThat(in.readByte()).as("GO after LOADED").isEqualTo(MigrationStream.GO);
                opened.close();
                out.writeByte(MigrationStream.RESUMED);
                out.flush();
            });
            MigrationResult result = MigrationSource.migrate(machine, "127.0.0.1", destination.port);
            assertThat(result.downtimeNanos()).isPositive();
            assertThat(destination.opened.get(30, TimeUnit.SECONDS)).as("the image's lock was free at the state")
                    .isTrue();
            assertThat(disk(machine).held()).as("the source's disk after the switch").isFalse();
        }
    }

    @Test
    void aDestinationThatFailsAfterTheReleaseLeavesTheSourceRunningWithItsDisk() throws Exception {
        try (Machine machine = machine()) {
            Played destination = play((in, out, opened) -> opened.close());  // and closes without LOADED
            assertThatThrownBy(() -> MigrationSource.migrate(machine, "127.0.0.1", destination.port))
                    .isInstanceOf(MigrationException.class).hasMessageContaining("the guest runs on here");
            assertThat(destination.opened.get(30, TimeUnit.SECONDS)).isTrue();
            assertThat(disk(machine).held()).as("the source took its disk back").isTrue();
            assertThat(machine.paused()).isFalse();
            assertThat(machine.ended()).isFalse();
            assertThatThrownBy(() -> DiskImages.open(disk(machine).path(), DiskFormat.RAW, true))
                    .as("the source's lock").isInstanceOf(IOException.class);
        }
    }

    @Test
    void aSourceThatCannotTakeItsDiskBackStopsInsteadOfResuming() throws Exception {
        DiskImage[] kept = new DiskImage[1];
        try (Machine machine = machine()) {
            // Another process keeps the image beyond the destination's wait for GO.
            Played destination = play((in, out, opened) -> kept[0] = opened);
            assertThatThrownBy(() -> MigrationSource.migrate(machine, "127.0.0.1", destination.port))
                    .isInstanceOf(MigrationException.class).hasMessageContaining("the guest is stopped here")
                    .hasMessageNotContaining("\n");
            assertThat(destination.opened.get(30, TimeUnit.SECONDS)).isTrue();
            assertThat(machine.awaitExit(10, TimeUnit.SECONDS)).isEqualTo(Machine.EXIT_POWER_OFF);
            assertThat(machine.exitReason()).contains("cannot be opened again here");
            assertThat(disk(machine).held()).isFalse();
        } finally {
            if (kept[0] != null) {
                kept[0].close();
            }
        }
    }

    /**
     * The real destination, the connection cut when its LOADED comes back: the source, not having said GO, waits
     * until the destination gives up on GO and lets go of the image, then takes it back and runs on; the
     * destination's guest never ran.
     */
    @Test
    void aCutBeforeGoLeavesTheGuestRunningHereAndTheDestinationGivesUpWithoutRunningIt() throws Exception {
        try (Machine machine = machine(); ServerSocket listener = listener();
                CuttingRelay relay = new CuttingRelay(listener.getLocalPort(), MigrationStream.LOADED)) {
            CompletableFuture<Machine> destination = new CompletableFuture<>();
            CompletableFuture<String> refusal = CompletableFuture.supplyAsync(() -> {
                try (MigrationTarget target = MigrationTarget.accept(listener, CharBackend.NULL, quiet())) {
                    destination.complete(target.machine());
                    target.resume();
                    return "resumed";
                } catch (MigrationException e) {
                    return e.getMessage();
                }
            });
            assertThatThrownBy(() -> MigrationSource.migrate(machine, "127.0.0.1", relay.port()))
                    .isInstanceOf(MigrationException.class).isNotInstanceOf(MigrationOutcomeUnknownException.class)
                    .hasMessageContaining("the guest runs on here");
            assertThat(refusal.get(30, TimeUnit.SECONDS)).contains("did not give the go-ahead within")
                    .contains("the guest did not run here");
            assertThat(destination.get().firstGuestEntryNanos()).as("the destination's guest ran").isZero();
            assertThat(disk(machine).held()).as("the source took its disk back").isTrue();
            assertThat(machine.paused()).isFalse();
            assertThat(machine.ended()).isFalse();
        }
    }

    /**
     * The real destination, the connection cut when its RESUMED comes back (GO went through): the source cannot
     * tell that the guest runs there and keeps its own paused, disk released. Resuming it by hand is refused while
     * the destination holds the image and works once the destination is gone.
     */
    @Test
    void aCutAfterGoLeavesTheGuestPausedHereUntilResumedByHand() throws Exception {
        try (Machine machine = machine(); ServerSocket listener = listener();
                CuttingRelay relay = new CuttingRelay(listener.getLocalPort(), MigrationStream.RESUMED)) {
            CompletableFuture<MigrationTarget> destination = CompletableFuture.supplyAsync(() -> {
                try {
                    MigrationTarget target = MigrationTarget.accept(listener, CharBackend.NULL, quiet());
                    target.resume();
                    return target;
                } catch (MigrationException e) {
                    throw new IllegalStateException(e);
                }
            });
            MigrationOutcomeUnknownException unknown = catchThrowableOfType(MigrationOutcomeUnknownException.class,
                    () -> MigrationSource.migrate(machine, "127.0.0.1", relay.port()));
            assertThat(unknown).as("the source's failure").isNotNull();
            assertThat(unknown.getMessage()).contains("outcome unknown after the switch")
                    .contains("the guest stays paused here").doesNotContain("\n");
            MigrationTarget target = destination.get(30, TimeUnit.SECONDS);
            try (Machine there = target.machine()) {
                assertThat(there.awaitFirstGuestEntry(10, TimeUnit.SECONDS)).as("the destination's guest ran")
                        .isNotZero();
                Thread.sleep(300);
                assertThat(machine.paused()).as("the source's guest, paused").isTrue();
                assertThat(machine.ended()).isFalse();
                assertThat(disk(machine).held()).isFalse();
                assertThatThrownBy(() -> unknown.source().resumeHere()).isInstanceOf(MigrationException.class)
                        .hasMessageContaining("cannot resume the guest here").hasMessageContaining(
                                disk(machine).path().toString()).hasMessageNotContaining("\n");
                assertThat(machine.paused()).as("the source's guest after a refused resume").isTrue();
                assertThat(disk(machine).held()).isFalse();
                target.close();
            }
            unknown.source().resumeHere();
            assertThat(machine.paused()).isFalse();
            assertThat(machine.ended()).isFalse();
            assertThat(disk(machine).held()).as("the source's disk after the resume").isTrue();
        }
    }

    private static ServerSocket listener() throws IOException {
        return new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    }

    private static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream(), true);
    }

    private Machine machine() throws Exception {
        Path image = work.resolve("disk.raw");
        Files.write(image, new byte[1 << 20]);
        Path kernel = TinyPvhKernel.write(work, "F4 EBFD");  // 1: hlt; jmp 1b
        MachineConfig config = new MachineConfig(kernel, null, "", 16L << 20, 1, "soft",
                List.of(new Disk(DiskImages.open(image, DiskFormat.RAW, false), "d0")));
        Machine machine = Machine.create(config, CharBackend.NULL, new PrintStream(new ByteArrayOutputStream(), true));
        machine.start();
        return machine;
    }

    private static HandoverDisk disk(Machine machine) {
        return (HandoverDisk) machine.config().disks().getFirst().backend();
    }

    /** A destination the test plays, on a port of its own. */
    private record Played(int port, CompletableFuture<Boolean> opened) {}

    /**
     * Listens for one source, answers READY (no passt handover), reads every record and, at the state, opens the
     * source's disk for writing and does {@code atState}; closes the connection after it.
     */
    private static Played play(AtState atState) throws IOException {
        ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        CompletableFuture<Boolean> opened = new CompletableFuture<>();
        Thread.ofPlatform().daemon().start(() -> {
            try (listener; Socket socket = listener.accept()) {
                DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
                DataOutputStream out = new DataOutputStream(socket.getOutputStream());
                assertThat(in.readLong()).isEqualTo(MigrationStream.MAGIC);
                assertThat(in.readInt()).isEqualTo(MigrationStream.VERSION);
                MachineSpec spec = MachineDocument.readSpec(MigrationStream.readBlock(in, "spec"), "spec");
                assertThat(in.readInt()).isEqualTo(1);
                assertThat(in.readLong()).isEqualTo(1 << 20);
                out.writeByte(MigrationStream.READY);
                PasstHandover.writeOffer(out, null);
                out.flush();
                while (true) {
                    byte kind = in.readByte();
                    if (kind == MigrationStream.ZERO_PAGE) {
                        in.readInt();
                    } else if (kind == MigrationStream.DATA_PAGE) {
                        in.readInt();
                        in.readFully(new byte[MigrationStream.PAGE_SIZE]);
                    } else if (kind == MigrationStream.HANDOVER) {
                        assertThat(in.readBoolean()).as("passt handed over").isFalse();
                    } else {
                        assertThat(kind).isEqualTo(MigrationStream.STATE);
                        MigrationStream.readBlock(in, "state");
                        break;
                    }
                }
                DiskImage image;
                try {
                    image = DiskImages.open(Path.of(spec.disks().getFirst().path()), DiskFormat.RAW, false);
                } catch (IOException e) {
                    opened.complete(false);
                    return;
                }
                opened.complete(true);
                atState.act(in, out, image);
            } catch (IOException | SnapshotException | RuntimeException | Error e) {
                opened.completeExceptionally(e);
            }
        });
        return new Played(listener.getLocalPort(), opened);
    }
}
