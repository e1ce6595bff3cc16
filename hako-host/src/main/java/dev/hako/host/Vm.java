package dev.hako.host;

import dev.hako.vmm.boot.KernelFormatException;
import dev.hako.vmm.host.HostFile;
import dev.hako.vmm.image.Bundle;
import dev.hako.vmm.image.BundleFormatException;
import dev.hako.vmm.image.disk.DiskImage;
import dev.hako.vmm.host.UnusableFileException;
import dev.hako.vmm.machine.Disk;
import dev.hako.vmm.machine.Machine;
import dev.hako.vmm.machine.MachineConfig;
import dev.hako.vmm.machine.MachineStatistics;
import dev.hako.vmm.sched.AdmissionException;
import dev.hako.vmm.sched.CpuEntitlement;
import dev.hako.vmm.sched.CpuScheduler;
import dev.hako.vmm.sched.Partition;
import dev.hako.vmm.snapshot.MachineSnapshots;
import dev.hako.vmm.snapshot.MigrationException;
import dev.hako.vmm.snapshot.MigrationOutcomeUnknownException;
import dev.hako.vmm.snapshot.MigrationResult;
import dev.hako.vmm.snapshot.MigrationSource;
import dev.hako.vmm.snapshot.PausedSource;
import dev.hako.vmm.snapshot.SnapshotException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * One VM of a {@link Host}: its definition, its console (which outlives its runs) and, while it runs, its
 * {@link Machine} on the machine's own threads, watched by a waiter thread that records how the run ended. The
 * lifecycle methods are called with the host's lock for this VM held ({@code synchronized} here).
 */
final class Vm {
    private final String name;
    private final ConsoleHub console;
    private final PrintStream hostLog;
    private final CpuScheduler scheduler;
    private volatile VmDefinition definition;
    /** The running machine's share of the host's CPUs; null while it does not run. */
    private volatile Partition partition;
    private volatile PartitionUsage lastUsage;
    private volatile VmState state = VmState.DEFINED;
    private volatile Integer exitStatus;
    private volatile String exitReason;
    private volatile Machine machine;
    private volatile MachineStatistics lastStatistics;
    private volatile CountDownLatch ended = new CountDownLatch(0);
    /** The paused machine after a migration of unknown outcome, until it is resumed or stopped; else null. */
    private volatile PausedSource undecided;

    Vm(String name, VmDefinition definition, CpuScheduler scheduler, PrintStream hostLog) {
        this.name = name;
        this.scheduler = scheduler;
        this.definition = definition;
        this.hostLog = hostLog;
        this.console = new ConsoleHub(name);
    }

    String name() {
        return name;
    }

    VmDefinition definition() {
        return definition;
    }

    void redefine(VmDefinition changed) {
        definition = changed;
    }

    ConsoleHub console() {
        return console;
    }

    VmState state() {
        return state;
    }

    boolean active() {
        return state.active();
    }

    synchronized void start() {
        launch(null);
    }

    /** Starts the VM from the snapshot in {@code dir} instead of booting it, its writable disks as {@code disks}. */
    synchronized void restore(Path dir, MachineSnapshots.DiskRestore disks) {
        launch(dir, disks);
    }

    private void launch(Path snapshot) {
        launch(snapshot, MachineSnapshots.DiskRestore.AS_TAKEN);
    }

    private void launch(Path snapshot, MachineSnapshots.DiskRestore disks) {
        if (active()) {
            throw HostException.conflict("VM " + name + " is " + state.label() + " already");
        }
        int vcpus = definition.vcpusOrDefault();
        CpuEntitlement entitlement = definition.cpuOrDefault().toEntitlement(vcpus);
        Partition admitted;
        try {
            admitted = scheduler.admit(name, vcpus, entitlement);
        } catch (AdmissionException e) {
            throw HostException.conflict(e.getMessage());
        }
        Machine m;
        MachineConfig config = null;
        long begin = System.nanoTime();
        try {
            if (snapshot != null) {
                m = MachineSnapshots.restore(snapshot, console, messages(), admitted, disks);
            } else {
                MachineRecipe.Prepared prepared = definition.recipe().prepare(name, null, hostLog);
                config = prepared.config();
                m = Machine.create(config.withPartition(admitted), console, messages());
            }
        } catch (SnapshotException e) {
            failedStart(admitted, config);
            throw HostException.badInput("dir", e.getMessage());
        } catch (KernelFormatException | UnusableFileException | IllegalArgumentException e) {
            failedStart(admitted, config);
            throw HostException.badInput(null, e.getMessage());
        } catch (IOException | IllegalStateException e) {
            failedStart(admitted, config);
            throw HostException.unavailable(null, "cannot set up the machine: " + (e instanceof IOException io
                    ? HostFile.describe(io) : e.getMessage()));
        } catch (RuntimeException e) {
            failedStart(admitted, config);
            throw e;
        }
        partition = admitted;
        CountDownLatch end = new CountDownLatch(1);
        ended = end;
        machine = m;
        exitStatus = null;
        exitReason = null;
        state = VmState.RUNNING;
        m.start();
        Thread.ofVirtual().name("vm-" + name).start(() -> awaitEnd(m, end));
        if (snapshot != null) {
            Thread.ofVirtual().start(() -> reportRestoreTime(m, snapshot, begin));
        }
    }

    /** Logs the restore time to the first guest instruction, once the guest got there. */
    private void reportRestoreTime(Machine m, Path snapshot, long begin) {
        long first = m.awaitFirstGuestEntry(10, TimeUnit.SECONDS);
        if (first != 0) {
            hostLog.printf("hako: VM %s restored from %s in %.1f ms to the first guest instruction%n", name, snapshot,
                    (first - begin) / 1e6);
        }
    }

    private static void failedStart(Partition admitted, MachineConfig config) {
        admitted.release();
        if (config != null) {
            Disk.closeAll(config.disks());
        }
    }

    /** A running VM's new entitlement takes effect now; a stopped VM's takes effect when it starts. */
    synchronized void changeEntitlement(CpuEntitlement entitlement) throws AdmissionException {
        Partition p = partition;
        if (p != null) {
            p.change(entitlement);
        }
    }

    private void awaitEnd(Machine m, CountDownLatch end) {
        try {
            int status = m.awaitExit(Long.MAX_VALUE, TimeUnit.NANOSECONDS);
            lastStatistics = m.statistics();
            exitStatus = status;
            exitReason = m.exitReason();
            state = status == Machine.EXIT_POWER_OFF ? VmState.STOPPED : VmState.CRASHED;
        } catch (InterruptedException e) {
            state = VmState.CRASHED;
            exitReason = "interrupted";
        } finally {
            console.detachFrontend();
            m.close();
            Partition p = partition;
            if (p != null) {
                lastUsage = PartitionUsage.of(p);
                p.release();
            }
            partition = null;
            machine = null;
            undecided = null;
            hostLog.println("hako: VM " + name + " " + state.label() + (exitReason != null ? ": " + exitReason
                    .lines().findFirst().orElse("") : ""));
            end.countDown();
        }
    }

    /** Ends the VM now and waits until its machine is closed. */
    synchronized void stop(String reason) throws InterruptedException {
        Machine m = requireActive();
        PausedSource paused = undecided;
        if (paused != null) {
            paused.leaveToDestination();
        }
        m.stop(reason);
        ended.await();
    }

    synchronized void pause() throws InterruptedException {
        Machine m = requireActive();
        if (state == VmState.PAUSED) {
            return;
        }
        if (m.pause()) {
            state = VmState.PAUSED;
        }
    }

    /**
     * Writes the VM as the snapshot {@code dir}: pauses it (if it runs), writes, and lets it run again unless
     * {@code stayPaused} (a VM paused before stays paused). With {@code overlay} its writable disks are frozen at the
     * snapshot point and it goes on with overlays over them: {@code moved} gets each image and its overlay, also when
     * the snapshot then fails (the disks stay moved).
     */
    synchronized void snapshot(Path dir, boolean stayPaused, boolean overlay, Map<Path, Path> moved)
            throws InterruptedException {
        Machine m = requireActive();
        refuseWhileUndecided("snapshot");
        if (overlay) {
            refuseFreezingTheBundleDisk(m);
        }
        List<Path> before = diskPaths(m);
        boolean wasPaused = state == VmState.PAUSED;
        if (!wasPaused) {
            if (!m.pause()) {
                throw HostException.conflict("VM " + name + " ended before it paused");
            }
            state = VmState.PAUSED;
        }
        try {
            if (overlay) {
                MachineSnapshots.takeWithOverlays(m, dir);
            } else {
                MachineSnapshots.take(m, dir);
            }
        } catch (SnapshotException e) {
            throw HostException.badInput(overlay ? "overlay" : "dir", e.getMessage());
        } catch (IOException e) {
            throw HostException.unavailable("dir", "cannot write the snapshot " + dir + ": " + HostFile.describe(e));
        } finally {
            List<Path> after = diskPaths(m);
            for (int i = 0; i < before.size(); i++) {
                if (!before.get(i).equals(after.get(i))) {
                    moved.put(before.get(i), after.get(i));
                    hostLog.println("hako: VM " + name + " froze " + before.get(i) + " at snapshot " + dir
                            + " and goes on with the overlay " + after.get(i));
                }
            }
            if (!wasPaused && !stayPaused && !m.ended()) {
                m.resume();
                state = VmState.RUNNING;
            }
        }
    }

    /** The absolute paths of the machine's disk images, in order. */
    private static List<Path> diskPaths(Machine m) {
        return m.config().disks().stream().map(d -> d.backend() instanceof DiskImage image
                ? image.path().toAbsolutePath().normalize() : Path.of("")).toList();
    }

    /**
     * A bundle's disk cannot be frozen under an overlay: the definition names the bundle, not its disk, so it
     * cannot be pointed at the overlay, and the VM's next boot would write the frozen image.
     */
    private void refuseFreezingTheBundleDisk(Machine m) {
        if (definition.bundle() == null) {
            return;
        }
        Path bundleDisk;
        try {
            bundleDisk = Bundle.load(Path.of(definition.bundle())).diskFile().toAbsolutePath().normalize();
        } catch (BundleFormatException e) {
            return; // the bundle changed since the VM booted: its disk is not the one running
        }
        for (Disk disk : m.config().disks()) {
            if (disk.backend() instanceof DiskImage image && !image.readOnly()
                    && image.path().toAbsolutePath().normalize().equals(bundleDisk)) {
                throw HostException.badInput("overlay", "VM " + name + " writes its bundle's disk " + bundleDisk
                        + ", which its definition cannot point at an overlay (its next boot would write the frozen "
                        + "image): give the disk in the definition's disks instead, or snapshot without overlay");
            }
        }
    }

    /**
     * Moves the running (or paused) VM to the hako listening at {@code host}:{@code port} ({@code hako run
     * --incoming}) and, once that one runs the guest, stops it here. A failure leaves the VM running here, as it was.
     */
    synchronized MigrationResult migrate(String host, int port) throws InterruptedException {
        Machine m = requireActive();
        refuseWhileUndecided("migrate");
        MigrationResult result;
        try {
            result = MigrationSource.migrate(m, host, port);
        } catch (MigrationOutcomeUnknownException e) {
            undecided = e.source();
            state = VmState.PAUSED;
            String message = e.getMessage() + "; resume it (hako vm resume " + name + ") only if the destination's "
                    + "guest is not running";
            hostLog.println("hako: VM " + name + ": " + message);
            throw HostException.outcomeUnknown("to", message);
        } catch (MigrationException e) {
            hostLog.println("hako: VM " + name + ": " + e.getMessage());
            throw HostException.unavailable("to", e.getMessage());
        }
        hostLog.println("hako: VM " + name + " migrated to " + host + ":" + port + ": " + result.describe());
        m.stop("migrated to " + host + ":" + port);
        ended.await();
        return result;
    }

    synchronized void resume() {
        Machine m = requireActive();
        PausedSource paused = undecided;
        if (paused != null) {
            try {
                paused.resumeHere();
            } catch (MigrationException e) {
                throw HostException.conflict("VM " + name + ": " + e.getMessage());
            }
            undecided = null;
            hostLog.println("hako: VM " + name + " resumed here after the migration of unknown outcome to "
                    + paused.target());
        }
        m.resume();
        if (state == VmState.PAUSED) {
            state = VmState.RUNNING;
        }
    }

    synchronized void pressPowerButton() {
        if (state != VmState.RUNNING) {
            throw HostException.conflict("VM " + name + " is " + state.label() + ": only a running VM can shut "
                    + "down");
        }
        requireActive().pressPowerButton();
    }

    synchronized void setBalloonTarget(long bytes) {
        Machine m = requireActive();
        if (!m.hasBalloon()) {
            throw HostException.conflict("VM " + name + " has no balloon (define it with balloon_mib)");
        }
        if (bytes > m.config().memoryBytes()) {
            throw HostException.badInput("balloon_target_mib", "the balloon cannot be larger than the VM's "
                    + (m.config().memoryBytes() >> 20) + " MiB");
        }
        m.setBalloonTarget(bytes);
    }

    /** Waits up to {@code timeout} for the current run to end; true when it has. */
    boolean awaitEnd(long timeout, TimeUnit unit) throws InterruptedException {
        return ended.await(timeout, unit);
    }

    VmStatus status() {
        Machine m = machine;
        MachineStatistics statistics = m != null ? m.statistics() : lastStatistics;
        long memory = m != null ? m.config().memoryBytes() : 0;
        Partition p = partition;
        PausedSource paused = undecided;
        return new VmStatus(name, definition, state, exitStatus, exitReason, paused == null ? null
                : "migration to " + paused.target() + " of unknown outcome: resume only if the destination's guest "
                + "is not running", statistics, memory,
                m != null ? m.balloonBytes() : 0, p != null ? PartitionUsage.of(p) : lastUsage);
    }

    void close() {
        console.close();
    }

    /**
     * A VM paused after a migration of unknown outcome has its disks released: nothing but resume or stop may
     * touch it.
     */
    private void refuseWhileUndecided(String action) {
        PausedSource paused = undecided;
        if (paused != null) {
            throw HostException.conflict("VM " + name + " cannot " + action + ": its migration to " + paused.target()
                    + " has an unknown outcome; resume it (only if the destination's guest is not running) or stop "
                    + "it");
        }
    }

    private Machine requireActive() {
        Machine m = machine;
        if (m == null || !active()) {
            throw HostException.conflict("VM " + name + " is " + state.label() + ", not running");
        }
        return m;
    }

    /** hako's messages about the machine (its end, a failure) go to the console, where its viewers see them. */
    private PrintStream messages() {
        return new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                if (b == '\n') {
                    console.write('\r');
                }
                console.write(b);
            }
        }, true, StandardCharsets.UTF_8);
    }
}
