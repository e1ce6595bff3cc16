package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.vmm.image.Bundle;
import dev.hako.vmm.image.disk.DiskFormat;
import dev.hako.vmm.image.disk.DiskImages;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A Debian bundle booting in this JVM on the soft CPU from a qcow2 disk, driven through its serial console: the
 * boot status line, root's automatic login, commands typed at the prompt, the exit status after a power-off.
 */
final class DebianBoot implements AutoCloseable {
    static final Duration BOOT = Duration.ofMinutes(8);
    static final Duration PROMPT_WAIT = Duration.ofMinutes(5);
    /** What the bundle's oneshot unit prints once systemd has reached the multi-user target. */
    static final String RUNNING = "hako: system is running";
    static final String PROMPT = "root@hako:~# ";
    /**
     * Appended to the bundle's command line: services get 15 minutes to start on a loaded host. The serial
     * port's device job gets as long from the image itself (DebianCustomization's dev-ttyS0.device drop-in):
     * Debian 12's systemd (252) has no command-line option for device timeouts.
     */
    static final String PATIENT_DEVICES = " systemd.default_timeout_start_sec=900";

    private final RecordingConsole console = new RecordingConsole();
    private final ByteArrayOutputStream log = new ByteArrayOutputStream();
    private final Machine machine;
    private final CompletableFuture<Integer> status;

    private DebianBoot(MachineConfig config) throws Exception {
        machine = Machine.create(config, console, new PrintStream(log, true));
        status = CompletableFuture.supplyAsync(() -> {
            try {
                return machine.run(15, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -2;
            }
        });
    }

    /** Starts {@code bundle}'s kernel with {@code disk} (qcow2, serial number {@code serial}) and {@code virtio}. */
    static DebianBoot start(Bundle bundle, Path disk, String serial, VirtioDevices virtio) throws Exception {
        return new DebianBoot(new MachineConfig(bundle.kernelFile(), bundle.initrdFile(),
                bundle.cmdline() + PATIENT_DEVICES, bundle.memoryBytes(), bundle.cpus(), "soft",
                List.of(new Disk(DiskImages.open(disk, DiskFormat.QCOW2, false), serial))).withVirtio(virtio));
    }

    Machine machine() {
        return machine;
    }

    RecordingConsole console() {
        return console;
    }

    /** Waits for the boot status line; returns where it starts on the console. */
    int awaitRunning() throws InterruptedException {
        int at = console.await(RUNNING, 0, BOOT);
        assertThat(at).as("boot to multi-user; hako said: %s%nconsole's end:%n%s", log, console.tail(80))
                .isNotNegative();
        return at;
    }

    /**
     * Waits for root's prompt; returns where it starts. The serial getty logs root in automatically, before or
     * after the boot status line; root's login starts root's systemd user manager first, which a loaded host's
     * soft CPU takes a while for.
     */
    int awaitPrompt() throws InterruptedException {
        int at = console.await(PROMPT, 0, PROMPT_WAIT);
        assertThat(at).as("root prompt on the serial console; its end:%n%s", console.tail(80)).isNotNegative();
        return at;
    }

    /** Types each command and a newline. */
    void type(List<String> commands) throws InterruptedException {
        for (String command : commands) {
            console.type(command + "\n");
        }
    }

    /** Waits for the machine to end (a power-off typed before), which must be with status 0. */
    void awaitPowerOff() throws Exception {
        assertThat(status.get(5, TimeUnit.MINUTES)).as("exit status; hako said: %s%nconsole's end:%n%s", log,
                console.tail(80)).isZero();
    }

    @Override
    public void close() {
        machine.close();
    }
}
