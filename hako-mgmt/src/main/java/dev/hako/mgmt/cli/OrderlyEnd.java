package dev.hako.mgmt.cli;

import dev.hako.vmm.machine.Machine;
import java.io.PrintStream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The end of {@code hako run} when the process is told to terminate (SIGTERM, SIGINT, SIGHUP), as QEMU's
 * "terminating on signal": the JVM runs its shutdown hooks, and this one stops the guest and waits while the command
 * closes its machine (vCPUs stopped, every disk image flushed and closed: qcow2 metadata written, raw images
 * fsynced; passt ended). The JVM then exits with 128 + the signal's number. Without it the JVM would exit under the
 * running guest, and what the guest wrote without flushing (a qcow2 image's new clusters) would be lost.
 */
final class OrderlyEnd implements AutoCloseable {
    /** Longer than closing takes (vCPUs leave within a second each), shorter than a user's patience. */
    private static final long CLOSE_WAIT_SECONDS = 30;

    private final Machine machine;
    private final PrintStream messages;
    private final CountDownLatch closed = new CountDownLatch(1);
    private final Thread hook = new Thread(this::terminate, "hako-terminate");

    /** Guards {@code machine}, which the command closes after this is created and before this is closed. */
    OrderlyEnd(Machine machine, PrintStream messages) {
        this.machine = machine;
        this.messages = messages;
        Runtime.getRuntime().addShutdownHook(hook);
    }

    private void terminate() {
        if (closed.getCount() == 0) {
            return;
        }
        messages.println("hako: terminating: stopping the guest, flushing and closing its disks");
        machine.stop("terminated by a signal");
        try {
            if (!closed.await(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS)) {
                messages.println("hako: the machine did not close within " + CLOSE_WAIT_SECONDS + " s; its disks "
                        + "may hold what the guest wrote last only in part");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The machine is closed: a termination from now on has nothing to wait for. */
    @Override
    public void close() {
        closed.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is terminating: the hook runs and finds the machine closed
        }
    }
}
