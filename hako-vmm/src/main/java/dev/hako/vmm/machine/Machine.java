package dev.hako.vmm.machine;

import dev.hako.core.accel.VcpuExit;
import dev.hako.core.accel.VirtualCpu;
import dev.hako.core.accel.VirtualMachine;
import dev.hako.core.memory.DirtyPages;
import dev.hako.core.time.TimerQueue;
import dev.hako.core.time.VirtualClock;
import dev.hako.devices.backend.CharBackend;
import dev.hako.devices.legacy.AcpiPm;
import dev.hako.devices.virtio.VirtioPciFunction;
import dev.hako.devices.virtio.balloon.VirtioBalloon;
import dev.hako.devices.virtio.blk.VirtioBlock;
import dev.hako.devices.virtio.net.VirtioNet;
import dev.hako.sys.Mman;
import dev.hako.vmm.boot.KernelFormatException;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.ObjIntConsumer;

/**
 * A PC-like virtual machine: RAM, the port and MMIO buses, the legacy devices (COM1, PIT, CMOS RTC, i8042,
 * ACPI PM), the interrupt controllers (8259 pair, IOAPIC, local APICs), a PCI host bridge (configuration
 * mechanism #1 and ECAM) with the PCI devices the configuration asks for, QEMU's ISA test devices when asked,
 * ACPI tables, a kernel loaded by the Linux boot protocol, PVH or Multiboot, and one platform thread per vCPU.
 * {@link #run} returns the exit status:
 * {@link #EXIT_POWER_OFF} when the guest powers off (or resets: hako does not reboot, like QEMU's -no-reboot),
 * and with a register dump {@link #EXIT_TRIPLE_FAULT}, {@link #EXIT_FAILURE} (emulation or accelerator failure)
 * or {@link #EXIT_WATCHDOG}: a vCPU made no progress for the configured limit ({@link VcpuProgress} has the
 * rule; a {@link MachineConfig#watchdog} of zero turns it off); {@link #EXIT_GUEST_PANIC} when the guest kernel
 * reports a panic through the pvpanic device (a kernel without its driver, booted with {@code panic=-1}, resets
 * instead, which is {@link #EXIT_POWER_OFF}); with an isa-debug-exit device, the odd status the guest chose
 * ({@link dev.hako.devices.legacy.IsaDebugExit}).
 *
 * <p>{@link #run} blocks; a host of many machines calls {@link #start} and later {@link #awaitExit} instead. While
 * it runs, {@link #pause} stops every vCPU at its next exit from guest code and freezes guest time (timers stop
 * too, so the guest's clock does not jump when it {@link #resume}s); {@link #pressPowerButton} asks the guest to
 * shut down; {@link #setBalloonTarget} resizes the balloon; {@link #statistics} reads the counters.
 *
 * <p>{@link MachineBuilder} wires it; this class runs and stops it. Every component is in its {@link DeviceTable}.
 */
public final class Machine implements AutoCloseable {
    public static final int EXIT_POWER_OFF = 0, EXIT_TRIPLE_FAULT = 1, EXIT_FAILURE = 2, EXIT_WATCHDOG = 3,
            EXIT_GUEST_PANIC = 4;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    /** How long {@link #pause} waits for the vCPUs to leave guest code (a block ends within microseconds). */
    private static final long PAUSE_WAIT_SECONDS = 5;
    /** The balloon device's id in the {@link DeviceTable} ({@link MachineBuilder} names it). */
    private static final String BALLOON = "virtio-balloon-device";

    private final MachineConfig config;
    private final PrintStream log;
    private final MemorySegment ramMapping;
    private final VirtualClock clock;
    private final TimerQueue timers;
    private final DeviceTable devices;
    private final List<AutoCloseable> hostResources;
    private final VirtualMachine vm;
    /** The accelerator that runs the vCPUs ("soft", "kvm"): what {@code auto} became. */
    private final String accelerator;
    private final VcpuThread[] vcpuThreads;
    /** Null without a watchdog. */
    private final Watchdog watchdog;
    private final MachineExit exit;
    private final Thread timerThread;
    private final PauseGate pauseGate;
    /** The last CPU time read of each vCPU thread: an ended thread has none to read. */
    private final long[] lastCpuNanos;
    private final DirtyPages dirtyPages;
    private volatile boolean started;

    Machine(MachineConfig config, PrintStream log, MemorySegment ramMapping, VirtualClock clock, TimerQueue timers,
            DeviceTable devices, List<AutoCloseable> hostResources, VirtualMachine vm, String accelerator,
            VcpuThread[] vcpuThreads, Watchdog watchdog, MachineExit exit, PauseGate pauseGate,
            DirtyPages dirtyPages) {
        this.dirtyPages = dirtyPages;
        this.config = config;
        this.log = log;
        this.ramMapping = ramMapping;
        this.clock = clock;
        this.timers = timers;
        this.devices = devices;
        this.hostResources = List.copyOf(hostResources);
        this.vm = vm;
        this.accelerator = accelerator;
        this.vcpuThreads = vcpuThreads;
        this.watchdog = watchdog;
        this.exit = exit;
        this.pauseGate = pauseGate;
        this.lastCpuNanos = new long[vcpuThreads.length];
        // A deterministic machine's vCPU runs its timers itself, at retired-instruction deadlines.
        this.timerThread = config.deterministic() ? null
                : Thread.ofPlatform().name("timers").daemon().unstarted(this::runTimers);
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
        start();
        if (!exit.await(timeout, unit)) {
            exit.finish(-1, "time limit reached");
        }
        stopAll();
        return exit.status();
    }

    /** Starts the guest on its own threads and returns; {@link #awaitExit} waits for its end. Once only. */
    public synchronized void start() {
        if (started) {
            throw new IllegalStateException("the machine was started already");
        }
        started = true;
        clock.resume();
        if (timerThread != null) {
            timerThread.start();
        }
        for (VcpuThread t : vcpuThreads) {
            t.thread().start();
        }
        if (watchdog != null) {
            watchdog.start();
        }
    }

    /**
     * Starts the machine's threads with every vCPU held before its first instruction (and guest time stopped),
     * as QEMU's -S: {@link #resume} lets it run.
     */
    public synchronized void startPaused() throws InterruptedException {
        pauseGate.close();
        start();
        pause();
    }

    /** The machine's vCPUs: a debugger reads and writes their state while the machine is {@link #paused}. */
    public List<VirtualCpu> vcpus() {
        return Arrays.stream(vcpuThreads).map(VcpuThread::vcpu).toList();
    }

    /**
     * Has {@code listener} told, on the vCPU's thread, when a vCPU stops for a debugger ({@link
     * VirtualCpu#debug}); that vCPU holds at the pause gate, and the listener should {@link #pause} the others.
     */
    public void onDebugTrap(ObjIntConsumer<VcpuExit.DebugTrap> listener) {
        pauseGate.onDebugTrap(listener);
    }

    /**
     * Waits up to {@code timeout} for the guest to end (power-off, failure, {@link #stop}); then stops its threads
     * and returns the exit status. Returns -1, the guest still running, when the time passed first.
     */
    public int awaitExit(long timeout, TimeUnit unit) throws InterruptedException {
        if (!exit.await(timeout, unit)) {
            return -1;
        }
        stopAll();
        return exit.status();
    }

    /**
     * Stops every vCPU at its next exit from guest code (a soft CPU at the end of its block, KVM at once) and
     * the timers, then freezes guest time. Returns when no vCPU runs guest code; false if the guest ended first.
     */
    public boolean pause() throws InterruptedException {
        synchronized (pauseGate) {
            if (!started || exit.stopping()) {
                return false;
            }
            pauseGate.close();
            for (VcpuThread t : vcpuThreads) {
                t.stop();
            }
            // Guest time runs until every thread holds, and the timer thread may be in a wait of up to
            // TIMER_IDLE_NANOS: wake it, or the guest sees up to a second pass while it is being paused.
            timers.wakeTimerThread();
            int holders = vcpuThreads.length + (timerThread != null ? 1 : 0);
            if (!pauseGate.awaitHolding(holders, PAUSE_WAIT_SECONDS, TimeUnit.SECONDS)) {
                pauseGate.open();
                throw new IllegalStateException("the vCPUs did not stop within " + PAUSE_WAIT_SECONDS + " s");
            }
            holdHostWork(true);
            clock.pause();
            return !exit.stopping();
        }
    }

    /** Lets a paused machine run again from where it stopped, its guest time too. */
    public void resume() {
        synchronized (pauseGate) {
            if (pauseGate.closed()) {
                clock.resume();
                holdHostWork(false);
                pauseGate.open();
            }
        }
    }

    /** Virtio devices' host threads (network, console input, vsock) touch no RAM while the machine is paused. */
    private void holdHostWork(boolean held) {
        for (Object component : devices.all().values()) {
            if (component instanceof VirtioPciFunction function) {
                function.holdHostWork(held);
            }
        }
    }

    public boolean paused() {
        return pauseGate.closed();
    }

    /** True once the guest ended (or was stopped): its vCPUs run no more. */
    public boolean ended() {
        return exit.stopping();
    }

    /**
     * The guest's RAM, for a snapshot to read while the machine is {@link #paused} or {@link #ended}: its content
     * changes under the reader otherwise.
     */
    public MemorySegment ram() {
        return ramMapping;
    }

    /** The dirty log of the guest's RAM, which a live migration turns on. */
    public DirtyPages dirtyPages() {
        return dirtyPages;
    }

    /** Presses the ACPI power button: a guest with ACPI (systemd-logind, acpid) shuts down and powers off. */
    public void pressPowerButton() {
        devices.get("acpi-pm", AcpiPm.class).pressPowerButton();
    }

    /** True when the machine has a virtio balloon ({@link #setBalloonTarget} works). */
    public boolean hasBalloon() {
        return devices.contains(BALLOON);
    }

    /** Asks the guest to give {@code bytes} of its RAM to the balloon (rounded down to pages). */
    public void setBalloonTarget(long bytes) {
        if (!hasBalloon()) {
            throw new IllegalStateException("the machine has no balloon");
        }
        if (bytes < 0 || bytes > config.memoryBytes()) {
            throw new IllegalArgumentException("balloon target " + bytes + " is outside 0.." + config.memoryBytes());
        }
        devices.get(BALLOON, VirtioBalloon.class).setTargetPages(bytes / VirtioBalloon.PAGE_SIZE);
    }

    /** The balloon's current size in bytes as the guest reports it; 0 without a balloon. */
    public long balloonBytes() {
        return hasBalloon() ? devices.get(BALLOON, VirtioBalloon.class).actualPages() * VirtioBalloon.PAGE_SIZE : 0;
    }

    public MachineConfig config() {
        return config;
    }

    /** The accelerator that runs the vCPUs, "soft" or "kvm" (what {@code --accel auto} chose). */
    public String accelerator() {
        return accelerator;
    }

    /** The machine's counters now; cheap enough to call every second for every VM of a host. */
    public MachineStatistics statistics() {
        List<MachineStatistics.Vcpu> vcpus = new ArrayList<>(vcpuThreads.length);
        for (int i = 0; i < vcpuThreads.length; i++) {
            VcpuThread t = vcpuThreads[i];
            long cpu = t.thread().isAlive() ? THREADS.getThreadCpuTime(t.thread().threadId()) : -1;
            if (cpu > lastCpuNanos[i]) {
                lastCpuNanos[i] = cpu;
            }
            vcpus.add(new MachineStatistics.Vcpu(lastCpuNanos[i], t.vcpu().instructionsRetired(), t.exits()));
        }
        long read = 0, written = 0, received = 0, sent = 0;
        for (Object component : devices.all().values()) {
            switch (component) {
                case VirtioBlock b -> {
                    read += b.bytesRead();
                    written += b.bytesWritten();
                }
                case VirtioNet n -> {
                    received += n.rxBytes();
                    sent += n.txBytes();
                }
                default -> { }
            }
        }
        return new MachineStatistics(vcpus, read, written, received, sent);
    }

    /**
     * {@link System#nanoTime} when a vCPU first entered guest code, 0 before: with the time a restore began, the
     * restore time to the first guest instruction.
     */
    public long firstGuestEntryNanos() {
        long first = 0;
        for (VcpuThread t : vcpuThreads) {
            long n = t.firstRunNanos();
            if (n != 0 && (first == 0 || n < first)) {
                first = n;
            }
        }
        return first;
    }

    /**
     * Waits up to {@code timeout} for a vCPU to enter guest code; returns {@link #firstGuestEntryNanos}, 0 when
     * the time passed or the guest ended first.
     */
    public long awaitFirstGuestEntry(long timeout, TimeUnit unit) {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (firstGuestEntryNanos() == 0 && !ended() && System.nanoTime() < deadline) {
            LockSupport.parkNanos(100_000);
        }
        return firstGuestEntryNanos();
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
        pauseGate.open();
        for (VcpuThread t : vcpuThreads) {
            t.stop();
        }
        if (timerThread != null) {
            timerThread.interrupt();
        }
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

    /** The timer thread's longest sleep: a stop interrupts it, and an armed timer wakes it when due. */
    private static final long TIMER_IDLE_NANOS = TimeUnit.SECONDS.toNanos(1);

    private void runTimers() {
        try {
            while (!exit.stopping()) {
                pauseGate.holdIfClosed();
                timers.awaitAndRunDue(TIMER_IDLE_NANOS);
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
        if (Arrays.stream(vcpuThreads).anyMatch(t -> t.thread().isAlive())) {
            // The soft CPU reaches RAM by address: unmapping it under a vCPU that did not stop would crash the
            // JVM, so a stuck vCPU keeps its VM's RAM until the process ends.
            log.println("hako: a vCPU did not stop in time; its RAM stays mapped");
            return;
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
