package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.vmm.image.Bundle;
import dev.hako.vmm.image.DebianImageFixture;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A whole Debian 12 system (the bundle `hako image create` makes, built once per run by {@link DebianImageFixture})
 * boots on the soft CPU from a virtio-blk disk to systemd's multi-user target, through a qcow2 overlay over the
 * bundle's disk (as raw) as its read-only base: a file written and synced survives a power-off and a second boot, the base
 * is unchanged, and Debian's own qemu-img finds the overlay clean. The first boot has user networking (passt) with
 * a host port forwarded to the guest's sshd ({@link GuestSsh}): networkd gets the address by DHCP, the host logs in
 * with ssh and runs commands, a file copied in with scp arrives with the same SHA-256, and the guest opens a TCP
 * connection to a server of the test on the host through passt's gateway address. The second boot ends with the
 * ACPI power button, as {@code hako vm shutdown} presses it: systemd-logind powers the system off.
 */
class DebianSystemIT {
    private static final String RUNNING = DebianBoot.RUNNING;

    @TempDir
    Path work;

    @Test
    void bootsToMultiUserKeepsWhatItWritesAndLeavesTheBaseAlone() throws Exception {
        Bundle bundle = DebianImageFixture.image().bundle();
        DebianOverlay.Disks disks = DebianOverlay.create(bundle, work);
        Path base = disks.base();
        Path overlay = disks.overlay();
        String baseDigest = sha256(base);

        GuestSsh ssh = GuestSsh.forBundle(work);
        String first = boot(bundle, overlay, ssh, List.of(
                "echo hako-it-$((6*7)) > /root/persisted && sync /root/persisted && echo written-$((1+1))",
                "systemctl poweroff"), "written-2", false);
        assertThat(first).contains(RUNNING);

        assertThat(qemuImg("check", "-f", "qcow2", overlay.toString())).contains("No errors were found");

        String second = boot(bundle, overlay, null, List.of("cat /root/persisted"), "hako-it-42", true);
        assertThat(second).contains(RUNNING);
        assertThat(sha256(base)).as("the base image under the overlay").isEqualTo(baseDigest);
        assertThat(qemuImg("check", "-f", "qcow2", overlay.toString())).contains("No errors were found");
    }

    /**
     * Boots the bundle's kernel with {@code disk} (and user networking for {@code ssh}'s checks, run once the
     * system is up), types {@code commands} at the root prompt, and, with {@code powerButton}, presses the power
     * button once {@code expected} was printed (else the commands power the system off); returns the console.
     */
    private static String boot(Bundle bundle, Path disk, GuestSsh ssh, List<String> commands, String expected,
            boolean powerButton) throws Exception {
        VirtioDevices virtio = ssh == null ? VirtioDevices.NONE : ssh.virtio();
        try (DebianBoot boot = DebianBoot.start(bundle, disk, "hako-it-0", virtio)) {
            RecordingConsole console = boot.console();
            long start = System.nanoTime();
            int ready = boot.awaitRunning();
            long running = System.nanoTime();
            int prompt = boot.awaitPrompt();
            String line = console.output().substring(ready, console.output().indexOf('\n', ready));
            System.out.printf("DebianSystemIT: %s after %.1f s wall clock, root prompt %.1f s later%n",
                    line.strip(), (running - start) / 1e9, (System.nanoTime() - running) / 1e9);
            assertThat(line).as("systemctl is-system-running").doesNotContain("degraded");
            if (ssh != null) {
                ssh.check();
            }
            boot.type(commands);
            if (powerButton) {
                assertThat(console.await(expected, prompt, DebianBoot.PROMPT_WAIT)).as(console.tail(40))
                        .isNotNegative();
                boot.machine().pressPowerButton();
            }
            boot.awaitPowerOff();
            assertThat(console.output().substring(prompt)).contains(expected);
            return console.output();
        }
    }

    private static String qemuImg(String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("qemu-img"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        return out;
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        byte[] buffer = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
