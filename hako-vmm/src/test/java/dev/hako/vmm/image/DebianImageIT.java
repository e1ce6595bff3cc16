package dev.hako.vmm.image;

import dev.hako.vmm.image.disk.DiskFormat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.vmm.image.DebianImageFixture.Image;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.MatchResult;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image {@code hako image create} builds, checked independently of hako: QEMU (TCG, q35, the disk on
 * virtio-blk-pci) boots the bundle's kernel, initrd and command line to systemd's "running"; ssh logs in with
 * root's key over DHCP networking and is refused without one; root on the serial console powers the machine
 * off; e2fsck finds the file system clean afterwards. The content checks read the disk with debugfs.
 */
class DebianImageIT {
    private static final Pattern BOOT_STATUS = Pattern.compile(
            Pattern.quote(DebianCustomization.BOOT_STATUS_PREFIX) + "(\\S+) \\(uptime ([0-9.]+) s");
    private static final long BOOT_TIMEOUT_SECONDS = 300;

    @TempDir
    Path work;

    @Test
    void qemuBootsItToRunningAndItPowersOffCleanly() throws Exception {
        Image image = DebianImageFixture.image();
        Bundle bundle = image.bundle();
        Assumptions.assumeTrue(HostTools.ofThisProcess().find("qemu-system-x86_64").isPresent(),
                "the independent check needs qemu-system-x86_64 (apt-get install qemu-system-x86)");
        Path disk = rawCopy(bundle, work.resolve("disk.raw"));
        int port = freePort();
        List<String> qemu = List.of("qemu-system-x86_64", "-accel", "tcg", "-M", "q35",
                "-m", bundle.memoryMiB() + "M", "-smp", String.valueOf(bundle.cpus()),
                "-kernel", bundle.kernelFile().toString(), "-initrd", bundle.initrdFile().toString(),
                "-append", bundle.cmdline(),
                "-drive", "file=" + disk + ",if=none,id=d,format=raw",
                "-device", "virtio-blk-pci,drive=d",
                "-netdev", "user,id=n,hostfwd=tcp:127.0.0.1:" + port + "-:22", "-device", "virtio-net-pci,netdev=n",
                "-nographic", "-no-reboot");
        long start = System.nanoTime();
        Process process = new ProcessBuilder(qemu).redirectErrorStream(true).start();
        Serial serial = new Serial(process.getInputStream(), work.resolve("serial.log"));
        try {
            MatchResult status = serial.await(BOOT_STATUS, BOOT_TIMEOUT_SECONDS);
            double wall = (System.nanoTime() - start) / 1e9;
            System.err.printf("DebianImageIT: QEMU TCG boot to \"%s%s\": %.1f s wall clock, guest uptime %s s%n",
                    DebianCustomization.BOOT_STATUS_PREFIX, status.group(1), wall, status.group(2));
            assertThat(status.group(0)).as(serial.tail()).contains("system is running");

            String inside = ssh(image.privateKey(), port, "hostname; systemctl is-system-running; "
                    + "cat /proc/cmdline; lsinitramfs /boot/initrd.img-$(uname -r) | grep -o 'virtio_[a-z]*\\.ko'");
            assertThat(inside).as(inside).startsWith("0:" + DebianImageSpec.DEFAULT_HOSTNAME + "\n")
                    .containsPattern("(?m)^running$").contains(bundle.cmdline())
                    .contains("virtio_pci.ko").contains("virtio_blk.ko");
            String withoutKey = HostCommand.run("ssh", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                    "-o", "IdentityFile=none", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                    "-p", String.valueOf(port), "root@127.0.0.1", "true");
            assertThat(withoutKey).as(withoutKey).startsWith("255:").contains("Permission denied (publickey)");

            serial.await(Pattern.compile("root@" + DebianImageSpec.DEFAULT_HOSTNAME + ":~# "), 60);
            OutputStream console = process.getOutputStream();
            console.write("poweroff\n".getBytes(StandardCharsets.US_ASCII));
            console.flush();
            assertThat(process.waitFor(120, TimeUnit.SECONDS)).as(serial.tail()).isTrue();
            assertThat(process.exitValue()).as(serial.tail()).isZero();
            serial.await(Pattern.compile("reboot: Power down"), 5);
        } finally {
            process.destroyForcibly();
        }
        String fsck = HostCommand.run("e2fsck", "-fn", disk.toString());
        assertThat(fsck).as(fsck).startsWith("0:");
    }

    @Test
    void theDiskHoldsTheLoginPolicyAndBootSettings() throws Exception {
        Image image = DebianImageFixture.image();
        Bundle bundle = image.bundle();
        String diskFile = rawCopy(bundle, work.resolve("disk.raw")).toString();
        String publicKey = Files.readString(image.privateKey().resolveSibling(image.privateKey().getFileName() + ".pub"));
        assertThat(debugfs(diskFile, "cat /root/.ssh/authorized_keys")).isEqualTo(publicKey.strip() + "\n");
        assertThat(debugfs(diskFile, "stat /root/.ssh/authorized_keys")).contains("Mode:  0600").contains("User:     0");
        assertThat(debugfs(diskFile, "stat /root/.ssh")).contains("Mode:  0700");
        // Root has no password at all ("*"): the console's autologin is the only way in without a key.
        assertThat(debugfs(diskFile, "cat /etc/shadow")).containsPattern("(?m)^root:[*!][^:]*:");
        assertThat(debugfs(diskFile, "cat /etc/ssh/sshd_config.d/hako.conf")).contains("PasswordAuthentication no");
        assertThat(debugfs(diskFile, "cat /etc/systemd/system/serial-getty@ttyS0.service.d/hako-autologin.conf"))
                .contains("--autologin root");
        String uuid = bundle.cmdline().replaceFirst("^root=UUID=(\\S+) .*", "$1");
        assertThat(debugfs(diskFile, "cat /etc/fstab")).startsWith("UUID=" + uuid + "\t/\text4\t");
        assertThat(debugfs(diskFile, "cat /etc/hostname")).isEqualTo("hako\n");
        // The bundle's kernel and initrd are the system's own.
        assertThat(Files.mismatch(bundle.kernelFile(), dumped(diskFile, "/vmlinuz"))).isEqualTo(-1);
        assertThat(Files.mismatch(bundle.initrdFile(), dumped(diskFile, "/initrd.img"))).isEqualTo(-1);
        // Kept small: no apt lists or package cache, no manual pages.
        assertThat(debugfs(diskFile, "ls /var/lib/apt/lists")).doesNotContain("_Packages");
        assertThat(debugfs(diskFile, "ls /var/cache/apt/archives")).doesNotContain(".deb");
        assertThat(debugfs(diskFile, "stat /usr/share/man/man1/ls.1.gz")).contains("File not found");
        assertThat(debugfs(diskFile, "stat /usr/share/doc/coreutils/copyright")).contains("Type: regular");
        assertThat(HostCommand.run("e2fsck", "-fn", diskFile)).startsWith("0:");
    }

    private Path dumped(String disk, String link) throws Exception {
        String target = debugfs(disk, "stat " + link).replaceFirst("(?s).*Fast link dest: \"([^\"]+)\".*", "$1");
        Path out = work.resolve(link.substring(1));
        String path = target.startsWith("/") ? target : "/" + target;
        assertThat(HostCommand.run("debugfs", "-R", "dump " + path + " " + out, disk)).startsWith("0:");
        return out;
    }

    private static String debugfs(String disk, String request) throws Exception {
        String result = HostCommand.run("debugfs", "-R", request, disk);
        // "STATUS:debugfs 1.47.0 (5-Feb-2023)\n..." without the status and the banner line.
        return result.substring(result.indexOf(':') + 1).replaceFirst("^debugfs [^\\n]*\\n", "");
    }

    private static String ssh(Path key, int port, String command) throws Exception {
        return HostCommand.run("ssh", "-i", key.toString(), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "-o", "ConnectTimeout=60", "-p", String.valueOf(port), "root@127.0.0.1", command);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** The guest's serial console as QEMU prints it, collected by a thread and kept in a log file. */
    private static final class Serial {
        private final StringBuilder text = new StringBuilder();
        private int searchedTo;

        Serial(InputStream output, Path log) {
            Thread.ofPlatform().daemon().start(() -> {
                byte[] buffer = new byte[4096];
                try (OutputStream file = Files.newOutputStream(log)) {
                    for (int n = output.read(buffer); n > 0; n = output.read(buffer)) {
                        file.write(buffer, 0, n);
                        synchronized (this) {
                            text.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
                            notifyAll();
                        }
                    }
                } catch (IOException e) {
                    // QEMU has exited.
                }
            });
        }

        /** The first match of {@code pattern} after the previous match, waiting up to {@code seconds}. */
        synchronized MatchResult await(Pattern pattern, long seconds) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (true) {
                Matcher matcher = pattern.matcher(text);
                if (matcher.find(searchedTo)) {
                    searchedTo = matcher.end();
                    return matcher.toMatchResult();
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("no \"" + pattern + "\" on the serial console within " + seconds
                            + " s; it ends with:\n" + tail());
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        }

        synchronized String tail() {
            return text.substring(Math.max(0, text.length() - 3000));
        }
    }

    /**
     * The bundle's disk as a raw file for QEMU, e2fsck and debugfs: a qcow2 disk (written by hako's converter) is
     * turned into raw by Debian's qemu-img, so every check below also checks that hako wrote a correct qcow2.
     */
    private static Path rawCopy(Bundle bundle, Path target) throws Exception {
        String from = bundle.diskFile().toString();
        String result = bundle.disk().format() == DiskFormat.RAW
                ? HostCommand.run("cp", "--sparse=always", from, target.toString())
                : HostCommand.run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", from, target.toString());
        assertThat(result).startsWith("0:");
        return target;
    }
}
