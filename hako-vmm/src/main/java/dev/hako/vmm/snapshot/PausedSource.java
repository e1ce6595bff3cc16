package dev.hako.vmm.snapshot;

import dev.hako.vmm.image.disk.HandoverDisk;
import dev.hako.vmm.machine.Machine;
import dev.hako.vmm.net.PasstBackend;
import java.io.IOException;
import java.util.List;

/**
 * The source's machine after a migration of unknown outcome ({@link MigrationOutcomeUnknownException}): paused, its
 * disk images released, passt's sockets shared with the destination. Nothing here resumes it by itself: only the
 * user knows whether the destination's guest runs.
 */
public final class PausedSource {
    private final Machine machine;
    private final String target;
    private final List<HandoverDisk> disks;
    private final List<PasstBackend> passts;
    private final boolean passtHandedOver;

    PausedSource(Machine machine, String target, List<HandoverDisk> disks, List<PasstBackend> passts,
            boolean passtHandedOver) {
        this.machine = machine;
        this.target = target;
        this.disks = List.copyOf(disks);
        this.passts = List.copyOf(passts);
        this.passtHandedOver = passtHandedOver;
    }

    /** Where the guest went, HOST:PORT. */
    public String target() {
        return target;
    }

    /**
     * Opens the disk images again and takes passt back, then lets the guest run here. An image whose lock another
     * process holds (the destination's guest may run) is refused with one line and leaves the machine as it was:
     * paused, every image released.
     */
    public void resumeHere() throws MigrationException {
        try {
            HandoverDisk.acquireAll(disks);
        } catch (IOException e) {
            throw new MigrationException("cannot resume the guest here: " + e.getMessage() + " (the guest "
                    + "migrated to " + target + " may run there)");
        }
        if (passtHandedOver) {
            passts.forEach(PasstBackend::takeBack);
        }
        machine.resume();
    }

    /**
     * The guest runs at the destination (or is given up): passt is left to it, so closing this machine does not end
     * the passt the destination may use; its images stay released.
     */
    public void leaveToDestination() {
        if (passtHandedOver) {
            passts.forEach(PasstBackend::forget);
        }
    }
}
