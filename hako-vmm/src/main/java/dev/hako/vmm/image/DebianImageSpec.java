package dev.hako.vmm.image;

import dev.hako.vmm.machine.MachineConfig;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What {@code hako image create} builds, validated: a Debian 12 (bookworm) system from {@code mirror} with the
 * {@link #BASE_PACKAGES base packages} plus {@code packages}, {@code authorizedKeys} (the text of an OpenSSH public
 * key file, or empty) for root, a host name, the disk size, and the memory and vCPUs the bundle asks for.
 */
public record DebianImageSpec(URI mirror, List<String> packages, String authorizedKeys, String hostname,
                              long diskBytes, int memoryMiB, int cpus) {
    public static final String SUITE = "bookworm";
    public static final String DISTRIBUTION = "Debian 12 (bookworm)";
    public static final URI DEFAULT_MIRROR = URI.create("http://deb.debian.org/debian");
    /** Security updates come from here when the default mirror is used (a local mirror may not carry them). */
    public static final URI SECURITY_MIRROR = URI.create("http://deb.debian.org/debian-security");
    public static final String DEFAULT_HOSTNAME = "hako";
    public static final long DEFAULT_DISK_BYTES = 4L << 30;
    /** The base system takes about 330 MiB of ext4; below this no disk can hold it. */
    public static final long MIN_DISK_BYTES = 512L << 20;
    public static final long MAX_DISK_BYTES = 16L << 40;
    public static final int DEFAULT_MEMORY_MIB = 1024;
    public static final int DEFAULT_CPUS = 1;

    /**
     * The system: Debian's cloud kernel with initramfs-tools (zstd to compress it), systemd as init with udev and
     * dbus, networkd (the base system has it) with resolved for DNS, and the ssh server. Everything else comes
     * from mmdebstrap's minbase variant: the essential and required packages, and apt.
     */
    public static final List<String> BASE_PACKAGES = List.of(
            "linux-image-cloud-amd64", "initramfs-tools", "zstd", "e2fsprogs",
            "systemd-sysv", "udev", "dbus", "libpam-systemd", "systemd-resolved", "iproute2", "netbase",
            "openssh-server");

    private static final Pattern PACKAGE = Pattern.compile("[a-z0-9][a-z0-9+.-]+");
    private static final Pattern HOSTNAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?");
    /** One OpenSSH public key: type, base64 key, optional comment (an authorized_keys line without options). */
    private static final Pattern PUBLIC_KEY = Pattern.compile(
            "(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+={0,3}( [^\\p{Cntrl}]*)?");

    public DebianImageSpec {
        String scheme = mirror.getScheme();
        if (scheme == null || !List.of("http", "https", "file").contains(scheme) || mirror.toString().contains(" ")) {
            throw new IllegalArgumentException("not a Debian mirror URL (http://, https:// or file:/): " + mirror);
        }
        packages = List.copyOf(packages);
        for (String name : packages) {
            if (!PACKAGE.matcher(name).matches()) {
                throw new IllegalArgumentException("not a Debian package name: \"" + name + "\"");
            }
        }
        for (String line : authorizedKeys.lines().toList()) {
            String key = line.strip();
            if (!key.isEmpty() && !key.startsWith("#") && !PUBLIC_KEY.matcher(key).matches()) {
                throw new IllegalArgumentException("not an OpenSSH public key (e.g. ~/.ssh/id_ed25519.pub): \""
                        + (key.length() > 30 ? key.substring(0, 30) + "..." : key) + "\"");
            }
        }
        if (!HOSTNAME.matcher(hostname).matches()) {
            throw new IllegalArgumentException("not a host name (letters, digits and inner dashes, up to 63): \""
                    + hostname + "\"");
        }
        if (diskBytes > MAX_DISK_BYTES) {
            throw new IllegalArgumentException("a disk of " + (diskBytes >> 30) + " GiB is larger than hako makes ("
                    + (MAX_DISK_BYTES >> 40) + " TiB)");
        }
        // Sizes round up to whole MiB: mkfs.ext4 would quietly drop a partial block at the end.
        diskBytes = (Math.max(diskBytes, 0) + (1L << 20) - 1) & -(1L << 20);
        if (memoryMiB < Bundle.MIN_MEMORY_MIB || memoryMiB > Bundle.MAX_MEMORY_MIB) {
            throw new IllegalArgumentException("memory must be from " + Bundle.MIN_MEMORY_MIB + " MiB to "
                    + Bundle.MAX_MEMORY_MIB + " MiB, not " + memoryMiB + " MiB");
        }
        if (cpus < 1 || cpus > MachineConfig.MAX_CPUS) {
            throw new IllegalArgumentException("cpus must be from 1 to " + MachineConfig.MAX_CPUS
                    + ", not " + cpus);
        }
    }

    /** The default system: no ssh key, the default mirror, host name, disk, memory and vCPUs. */
    public static DebianImageSpec defaults() {
        return new DebianImageSpec(DEFAULT_MIRROR, List.of(), "", DEFAULT_HOSTNAME, DEFAULT_DISK_BYTES,
                DEFAULT_MEMORY_MIB, DEFAULT_CPUS);
    }

    public DebianImageSpec withAuthorizedKeys(String keys) {
        return new DebianImageSpec(mirror, packages, keys, hostname, diskBytes, memoryMiB, cpus);
    }

    /** The base packages and the user's, each once, in that order. */
    public List<String> allPackages() {
        return List.copyOf(new LinkedHashSet<>(Stream.concat(BASE_PACKAGES.stream(), packages.stream()).toList()));
    }

    /** The APT sources the system is built from (and keeps): the mirror's suite and its updates, and security. */
    public List<String> sources() {
        String base = mirror.toString().replaceAll("/+$", "");
        List<String> sources = new ArrayList<>(List.of(
                "deb " + base + " " + SUITE + " main",
                "deb " + base + " " + SUITE + "-updates main"));
        if (mirror.equals(DEFAULT_MIRROR)) {
            sources.add("deb " + SECURITY_MIRROR + " " + SUITE + "-security main");
        }
        return sources;
    }

    /** Whether {@code diskBytes} is below what any system needs ({@link #MIN_DISK_BYTES}). */
    public boolean diskBelowMinimum() {
        return diskBytes < MIN_DISK_BYTES;
    }
}
