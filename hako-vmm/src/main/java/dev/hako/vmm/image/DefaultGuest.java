package dev.hako.vmm.image;

import dev.hako.vmm.host.HostFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The guest `hako run` boots when given no initrd: an initramfs holding Debian's busybox-static, a symlink per
 * applet, the device nodes the kernel needs before devtmpfs is up, and an /init script that mounts /proc, /sys
 * and /dev, prints a banner and runs a shell with a controlling terminal on the console (cttyhack). When the shell
 * exits the machine powers off; poweroff/reboot/halt are wrappers that act at once ({@code -f}), because the
 * script that is PID 1 would not act on busybox's signals. Built from the package cache it also holds the Debian
 * kernel's virtio-pci and virtio-balloon modules, which /init loads ({@link KernelModules#LOAD_ORDER}) when the
 * machine has a virtio PCI device, so that a machine's balloon works in the default guest (the cloud kernel builds
 * them as modules). Tests and users may add
 * their own files (programs, libraries) and their own /init.
 */
public final class DefaultGuest {
    /** A command line that puts the console on the first serial port. */
    public static final String CMDLINE = "console=ttyS0 earlyprintk=serial,ttyS0,115200 rdinit=/init panic=-1";
    public static final String BANNER = "hako: guest is up";

    private static final List<String> DIRECTORIES = List.of(
            "bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "root", "etc", "run", "mnt");
    private static final List<String> FORCED = List.of("poweroff", "reboot", "halt");
    /** The cloud kernel's modules the default guest loads, in dependency order (their modinfo "depends="). */
    static final List<String> MODULES = KernelModules.overVirtioPci("drivers/virtio/virtio_balloon.ko");

    /** A file for the initramfs at {@code path} (absolute; missing parent directories are made, mode 0755). */
    public record GuestFile(String path, int permissions, byte[] contents) {
        public GuestFile {
            if (!path.startsWith("/") || path.endsWith("/") || path.contains("/../") || path.contains("//")) {
                throw new IllegalArgumentException("guest path '" + path + "' is not an absolute file path");
            }
        }

        /** The host file {@code host} at {@code path}, executable in the guest if it is on the host. */
        public static GuestFile copyOf(Path host, String path) throws IOException {
            return new GuestFile(path, Files.isExecutable(host) ? 0755 : 0644, Files.readAllBytes(host));
        }
    }

    private DefaultGuest() {
    }

    /** The initramfs around the busybox binary at {@code busybox}. */
    public static byte[] initramfs(Path busybox) throws IOException {
        return initramfs(busybox, initScript());
    }

    /** The same initramfs with {@code init} (a busybox sh script) as /init. */
    public static byte[] initramfs(Path busybox, String init) throws IOException {
        return initramfs(busybox, init.getBytes(StandardCharsets.UTF_8), List.of());
    }

    /** The same initramfs with {@code init} (a busybox sh script) as /init and {@code files} besides. */
    public static byte[] initramfs(Path busybox, String init, List<GuestFile> files) throws IOException {
        return initramfs(busybox, init.getBytes(StandardCharsets.UTF_8), files);
    }

    /** The same initramfs with {@code init} as /init: a script ("#!") or a static executable, byte for byte. */
    public static byte[] initramfs(Path busybox, byte[] init) throws IOException {
        return initramfs(busybox, init, List.of());
    }

    /**
     * The same initramfs with {@code init} as /init and {@code files} besides; a file may take the place of
     * a busybox applet link, not of anything else the initramfs holds.
     */
    public static byte[] initramfs(Path busybox, byte[] init, List<GuestFile> files) throws IOException {
        CpioWriter cpio = new CpioWriter();
        for (String dir : DIRECTORIES) {
            cpio.directory(dir, dir.equals("tmp") ? 01777 : 0755);
        }
        cpio.charDevice("dev/console", 0600, 5, 1);
        cpio.charDevice("dev/ttyS0", 0660, 4, 64);
        cpio.charDevice("dev/null", 0666, 1, 3);
        cpio.file("bin/busybox", 0755, Files.readAllBytes(busybox));
        for (String command : FORCED) {
            cpio.file("sbin/" + command, 0755, forcedWrapper(command));
        }
        for (GuestFile file : files) {
            if (file.path().equals("/init") || file.path().equals("/etc/hostname")) {
                throw new IllegalArgumentException("the initramfs makes " + file.path() + " itself");
            }
            cpio.parents(file.path()).file(file.path(), file.permissions(), file.contents());
        }
        for (String applet : applets(busybox)) {
            if (!cpio.contains(applet) && parentIsKnown(applet)) {
                cpio.symlink(applet, "/bin/busybox");
            }
        }
        cpio.file("etc/hostname", 0644, "hako\n".getBytes(StandardCharsets.US_ASCII));
        cpio.file("init", 0755, init);
        return cpio.finish();
    }

    /** The default guest from Debian's busybox-static and the kernel's modules, fetched into the package cache. */
    public static byte[] initramfs(DebianPackages packages) throws IOException {
        return initramfs(packages.busybox(), initScript().getBytes(StandardCharsets.UTF_8),
                KernelModules.of(packages, MODULES).withLoadOrder());
    }

    /**
     * The default initramfs as a file in the package cache, named by a digest of its bytes: written once,
     * atomically, and afterwards only read, so that runs at the same time share it and a read-only cache that
     * holds it works. When the cache cannot take it, it goes to a temporary file that is deleted at exit.
     */
    public static Path cachedInitramfs(DebianPackages packages) throws IOException {
        return cached(initramfs(packages), packages.directory());
    }

    /** {@link #cachedInitramfs(DebianPackages)} around {@code busybox} alone, cached in {@code directory}. */
    static Path cachedInitramfs(Path busybox, Path directory) throws IOException {
        return cached(initramfs(busybox), directory);
    }

    private static Path cached(byte[] cpio, Path directory) throws IOException {
        Path file = directory.resolve("hako-default-initramfs-" + digest(cpio) + ".cpio");
        if (Files.isRegularFile(file) && Files.size(file) == cpio.length) {
            return file;
        }
        try {
            HostFile.writeAtomically(file, cpio);
        } catch (IOException e) {
            Path temporary = Files.createTempFile("hako-default-initramfs-", ".cpio");
            temporary.toFile().deleteOnExit();
            Files.write(temporary, cpio);
            return temporary;
        }
        return file;
    }

    private static String digest(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data), 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    public static String initScript() {
        return """
                #!/bin/busybox sh
                # hako default guest. Applet links are made at build time; make them now if that was not possible.
                [ -e /bin/mount ] || /bin/busybox --install -s
                export PATH=/sbin:/usr/sbin:/bin:/usr/bin HOME=/root TERM=vt100
                mount -t proc proc /proc
                mount -t sysfs sysfs /sys
                mount -t devtmpfs devtmpfs /dev
                mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
                hostname -F /etc/hostname
                # The virtio modules the initramfs holds (the balloon's driver), in their order, when the machine
                # has a virtio PCI device (vendor 0x1af4): a machine without one does not pay for them.
                if grep -qs 0x1af4 /sys/bus/pci/devices/*/vendor; then
                    for m in $(cat %s 2>/dev/null); do insmod /lib/modules/$m || echo "hako: insmod $m failed"; done
                fi
                echo
                echo "%s: Linux $(uname -r) on $(grep -c ^processor /proc/cpuinfo) vCPU(s), \\
                $(grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2-)"
                echo "Type 'poweroff' or exit the shell to stop the machine."
                cd /root
                # Debian's busybox runs applets before PATH, so a typed 'poweroff' signals init (USR2;
                # reboot sends TERM, halt USR1) instead of finding the -f wrappers: init answers the signals.
                trap 'poweroff -f' USR1 USR2
                trap 'reboot -f' TERM
                PS1='\\h:\\w# ' setsid cttyhack sh &
                wait $!
                echo "hako: shell exited, powering off"
                poweroff -f
                """.formatted(KernelModules.LOAD_ORDER, BANNER);
    }

    private static byte[] forcedWrapper(String command) {
        return ("#!/bin/busybox sh\nexec /bin/busybox " + command + " -f \"$@\"\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    /** Applet paths from the host running the (static x86-64) binary; empty when it cannot run here. */
    static List<String> applets(Path busybox) {
        List<String> applets = new ArrayList<>();
        try {
            Process p = new ProcessBuilder(busybox.toString(), "--list-full")
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0) {
                out.lines().map(String::strip).filter(l -> !l.isEmpty()).forEach(applets::add);
            }
        } catch (IOException e) {
            return List.of();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return List.of();
        }
        return applets;
    }

    private static boolean parentIsKnown(String applet) {
        int slash = applet.lastIndexOf('/');
        return slash > 0 && DIRECTORIES.contains(applet.substring(0, slash));
    }
}
