package dev.hako.vmm.image;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * What hako adds to the Debian system that mmdebstrap installs: configuration files, and two hook scripts that
 * mmdebstrap runs with the system's root directory as {@code $1}. Files are data ({@link #files}); the scripts
 * only copy them in (so no file's content is ever quoted for the shell) and run Debian's own tools in the chroot.
 *
 * <p>Logging in: the serial console ttyS0 logs root in without a password (a getty with {@code --autologin}), as
 * the console of a local VM does; root has no password, so no other terminal lets anyone in. The ssh server
 * takes root's keys only ({@code /root/.ssh/authorized_keys}), never a password.
 *
 * <p>Once the boot is complete, the unit {@code hako-boot-status.service} prints one line on the console:
 * {@code hako: system is running (uptime 19.39 s)}, or {@code degraded} with the failed units. It is a
 * {@code Type=exec} service: the boot counts it as started as soon as it runs, so it can wait for the boot to
 * finish ({@code systemctl is-system-running --wait}) without holding the boot up.
 */
public final class DebianCustomization {
    /** When a hook runs: before the packages beyond the essential set are installed, or after all of them. */
    public enum Stage { ESSENTIAL, CUSTOMIZE }

    /** A file written into the system at {@code path} (absolute inside it) with {@code mode}. */
    public record SystemFile(Stage stage, String path, int mode, String content) {
    }

    public static final String FILESYSTEM_LABEL = "hako-root";
    public static final String BOOT_STATUS_PREFIX = "hako: system is ";

    private static final String INITRAMFS_HOOK = """
            #!/bin/sh
            # hako: the virtio drivers hako's and QEMU's disks need, whatever else the initramfs holds.
            case "$1" in prereqs) exit 0 ;; esac
            . /usr/share/initramfs-tools/hook-functions
            manual_add_modules virtio_pci virtio_mmio virtio_blk ext4
            """;
    private static final String BOOT_STATUS = """
            #!/bin/sh
            # hako: reports on the console how the boot ended, once it has (see hako-boot-status.service).
            state=$(systemctl is-system-running --wait)
            read -r uptime _ < /proc/uptime
            failed=$(systemctl list-units --state=failed --plain --no-legend --no-pager | cut -d' ' -f1 | tr '\\n' ' ')
            failed=${failed% }
            echo "PREFIX$state (uptime $uptime s${failed:+; failed: $failed})"
            """.replace("PREFIX", BOOT_STATUS_PREFIX);
    private static final String BOOT_STATUS_UNIT = """
            [Unit]
            Description=Report on the console how the boot ended
            # Type=exec: started as soon as it runs, so the boot it waits for does not wait for it.

            [Service]
            Type=exec
            ExecStart=/usr/local/sbin/hako-boot-status
            StandardOutput=journal+console

            [Install]
            WantedBy=multi-user.target
            """;

    private final DebianImageSpec spec;
    private final UUID rootUuid;

    public DebianCustomization(DebianImageSpec spec, UUID rootUuid) {
        this.spec = spec;
        this.rootUuid = rootUuid;
    }

    /** The kernel command line that boots this system from its disk, with the console on the first serial port. */
    public String cmdline() {
        return "root=UUID=" + rootUuid + " ro console=ttyS0 panic=-1";
    }

    public UUID rootUuid() {
        return rootUuid;
    }

    public List<SystemFile> files() {
        List<SystemFile> files = new ArrayList<>(List.of(
                // MODULES=list keeps the initramfs small (the cloud kernel builds ext4 in); FSTYPE tells the fsck
                // hook what the root is, which it cannot find out inside mmdebstrap's chroot.
                new SystemFile(Stage.ESSENTIAL, "/etc/initramfs-tools/conf.d/hako", 0644, """
                        MODULES=list
                        FSTYPE=ext4
                        """),
                new SystemFile(Stage.ESSENTIAL, "/etc/initramfs-tools/hooks/hako", 0755, INITRAMFS_HOOK),
                new SystemFile(Stage.CUSTOMIZE, "/etc/hostname", 0644, spec.hostname() + "\n"),
                new SystemFile(Stage.CUSTOMIZE, "/etc/hosts", 0644, """
                        127.0.0.1	localhost
                        127.0.1.1	%s
                        ::1		localhost ip6-localhost ip6-loopback
                        ff02::1		ip6-allnodes
                        ff02::2		ip6-allrouters
                        """.formatted(spec.hostname())),
                new SystemFile(Stage.CUSTOMIZE, "/etc/fstab", 0644,
                        "UUID=" + rootUuid + "\t/\text4\terrors=remount-ro\t0\t1\n"),
                new SystemFile(Stage.CUSTOMIZE, "/etc/systemd/network/80-hako-dhcp.network", 0644, """
                        [Match]
                        Name=en* eth*

                        [Network]
                        DHCP=yes
                        """),
                new SystemFile(Stage.CUSTOMIZE, "/etc/systemd/system/serial-getty@ttyS0.service.d/hako-autologin.conf",
                        0644, """
                        [Service]
                        ExecStart=
                        ExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 - $TERM
                        """),
                // systemd waits 90 s for a device; on a busy host the soft CPU's udev can take longer to announce
                // the serial port, and the console's getty, which needs it, would then never start.
                new SystemFile(Stage.CUSTOMIZE, "/etc/systemd/system/dev-ttyS0.device.d/hako-patient.conf", 0644, """
                        [Unit]
                        JobTimeoutSec=15min
                        JobRunningTimeoutSec=15min
                        """),
                new SystemFile(Stage.CUSTOMIZE, "/etc/ssh/sshd_config.d/hako.conf", 0644, """
                        PermitRootLogin prohibit-password
                        PasswordAuthentication no
                        KbdInteractiveAuthentication no
                        """),
                new SystemFile(Stage.CUSTOMIZE, "/usr/local/sbin/hako-boot-status", 0755, BOOT_STATUS),
                new SystemFile(Stage.CUSTOMIZE, "/etc/systemd/system/hako-boot-status.service", 0644,
                        BOOT_STATUS_UNIT)));
        if (!spec.authorizedKeys().isBlank()) {
            String keys = spec.authorizedKeys().strip() + "\n";
            files.add(new SystemFile(Stage.CUSTOMIZE, "/root/.ssh/authorized_keys", 0600, keys));
        }
        return files;
    }

    /**
     * The hook script for {@code stage}. It finds the files next to itself, in {@code files/} (as
     * {@link #writeSetup} lays them out), and takes the system's root directory as its argument.
     */
    public String hook(Stage stage) {
        StringBuilder script = new StringBuilder("""
                #!/bin/sh
                # hako image create: the %s hook; $1 is the system's root directory.
                set -eu
                root="$1"
                files="$(dirname "$0")/files"
                """.formatted(stage.name().toLowerCase()));
        if (stage == Stage.CUSTOMIZE) {
            script.append("install -d -m 0700 \"$root/root/.ssh\"\n");
        }
        for (SystemFile file : files()) {
            if (file.stage() == stage) {
                script.append("install -D -m %04o \"$files%s\" \"$root%s\"\n".formatted(file.mode(), file.path(),
                        file.path()));
            }
        }
        if (stage == Stage.CUSTOMIZE) {
            script.append("""
                    ln -sf ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
                    chroot "$root" systemctl enable --quiet systemd-networkd systemd-resolved hako-boot-status.service
                    # The builder has configured what systemd-firstboot would ask for on the console at first boot.
                    chroot "$root" systemctl mask --quiet systemd-firstboot.service
                    """);
        }
        return script.toString();
    }

    /** Writes both hook scripts into {@code directory} and the files they install into its {@code files/}. */
    public void writeSetup(Path directory) throws IOException {
        for (SystemFile file : files()) {
            Path target = directory.resolve("files" + file.path());
            Files.createDirectories(target.getParent());
            Files.writeString(target, file.content(), StandardCharsets.UTF_8);
        }
        for (Stage stage : Stage.values()) {
            Path script = hookScript(directory, stage);
            Files.writeString(script, hook(stage), StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    public static Path hookScript(Path setupDirectory, Stage stage) {
        return setupDirectory.resolve(stage.name().toLowerCase() + ".sh");
    }
}
