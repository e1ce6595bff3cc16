package dev.hako.vmm.machine;

import dev.hako.core.accel.VirtualMachine;
import dev.hako.core.time.TimerQueue;
import dev.hako.core.time.VirtualClock;
import dev.hako.devices.backend.CharBackend;
import dev.hako.sys.Mman;
import dev.hako.vmm.boot.KernelFormatException;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A PC-like virtual machine: RAM, the port and MMIO buses, the legacy devices (COM1, PIT, CMOS RTC, i8042,
 * ACPI PM), the interrupt controllers (8259 pair, IOAPIC, local APICs), a PCI host bridge (configuration
 * mechanism #1 and ECAM) with the PCI devices the configuration asks for, ACPI tables, a kernel loaded by the
 * Linux boot protocol or PVH, and one platform thread per vCPU. {@link #run} returns the exit status:
 * {@link #EXIT_POWER_OFF} when the guest powers off (or resets: hako does not reboot, like QEMU's -no-reboot),
 * and with a register dump {@link #EXIT_TRIPLE_FAULT}, {@link #EXIT_FAILURE} (emulation or accelerator failure)
 * or {@link #EXIT_WATCHDOG}: a vCPU made no progress for the configured limit ({@link VcpuProgress} has the
 * rule; a {@link MachineConfig#watchdog} of zero turns it off); {@link #EXIT_GUEST_PANIC} when the guest kernel
 * reports a panic through the pvpanic device (a kernel without its driver, booted with {@code panic=-1}, resets
 * instead, which is {@link #EXIT_POWER_OFF}).
 *
 * <p>{@link MachineBuilder} wires it; this class runs and stops it. Every component is in its {@link DeviceTable}.
 */
public final class Machine implements AutoCloseable {
    public static final int EXIT_POWER_OFF = 0, EXIT_TRIPLE_FAULT = 1, EXIT_FAILURE = 2, EXIT_WATCHDOG = 3,
            EXIT_GUEST_PANIC = 4;

    private final MachineConfig config;
    private final PrintStream log;
    private final MemorySegment ramMapping;
    private final VirtualClock clock;
    private final TimerQueue timers;
    private final DeviceTable devices;
    private final List<AutoCloseable> hostResources;
    private final VirtualMachine vm;
    private final VcpuThread[] vcpuThreads;
    /** Null without a watchdog. */
    private final Watchdog watchdog;
    private final MachineExit exit;
    private final Thread timerThread;

    Machine(MachineConfig config, PrintStream log, MemorySegment ramMapping, VirtualClock clock, TimerQueue timers,
            DeviceTable devices, List<AutoCloseable> hostResources, VirtualMachine vm, VcpuThread[] vcpuThreads,
            Watchdog watchdog, MachineExit exit) {
        this.config = config;
        this.log = log;
        this.ramMapping = ramMapping;
        this.clock = clock;
        this.timers = timers;
        this.devices = devices;
        this.hostResources = List.copyOf(hostResources);
        this.vm = vm;
        this.vcpuThreads = vcpuThreads;
        this.watchdog = watchdog;
        this.exit = exit;
        this.timerThread = Thread.ofPlatform().name("timers").daemon().unstarted(this::runTimers);
    }

    /** Builds the machine {@code config} describes ({@link MachineBuilder}); nothing runs until {@link #run}. */
    public static Machine create(MachineConfig config, CharBackend console, PrintStream log) throws IOException,
            KernelFormatException {
        return new MachineBuilder(config, console, log).build();
    }

    /** The machine's components by id. */
    public DeviceTable devices() {
        return devices;
    }

    /** Runs the guest until it powers off, resets or fails; returns the exit status. */
    public int run() throws InterruptedException {
        return run(Long.MAX_VALUE, TimeUnit.NANOSECONDS);
    }

    /** Runs with a time limit; returns -1 (and stops the guest) if it is still running then. */
    public int run(long timeout, TimeUnit unit) throws InterruptedException {
        clock.resume();
        timerThread.start();
        for (VcpuThread t : vcpuThreads) {
            t.thread().start();
        }
        if (watchdog != null) {
            watchdog.start();
        }
        if (!exit.await(timeout, unit)) {
            exit.finish(-1, "time limit reached");
        }
        stopAll();
        return exit.status();
    }

    public String exitReason() {
        return exit.reason();
    }

    /** From the host: end the guest now (Ctrl-A X). */
    public void stop(String reason) {
        exit.finish(EXIT_POWER_OFF, reason);
    }

    private void stopAll() {
        exit.halt();
        for (VcpuThread t : vcpuThreads) {
            t.stop();
        }
        timerThread.interrupt();
        if (watchdog != null) {
            watchdog.stop();
        }
        for (VcpuThread t : vcpuThreads) {
            try {
                t.thread().join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        // A stopped machine is paused: its components' state no longer changes, and it can be saved.
        clock.pause();
    }

    private void runTimers() {
        try {
            while (!exit.stopping()) {
                timers.awaitAndRunDue(TimeUnit.MILLISECONDS.toNanos(100));
            }
        } catch (InterruptedException e) {
            // the machine is stopping
        } catch (RuntimeException e) {
            exit.finish(EXIT_FAILURE, "timer thread died: " + e);
        }
    }

    @Override
    public void close() {
        stopAll();
        vm.close();
        closeAll(hostResources, log);
        for (Disk disk : config.disks()) {
            try {
                disk.backend().close();
            } catch (IOException e) {
                log.println("hako: closing a disk image failed: " + e.getMessage());
            }
        }
        Mman.release(ramMapping);
    }

    /** Closes each of {@code resources}; a failure is reported and does not stop the others from closing. */
    static void closeAll(List<AutoCloseable> resources, PrintStream log) {
        for (AutoCloseable resource : resources) {
            try {
                resource.close();
            } catch (Exception e) {
                log.println("hako: closing " + resource + " failed: " + e.getMessage());
            }
        }
    }
}
