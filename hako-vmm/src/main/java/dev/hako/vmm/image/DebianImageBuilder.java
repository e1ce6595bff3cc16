package dev.hako.vmm.image;

import dev.hako.vmm.image.BuildWorkspace.ToolRun;
import dev.hako.vmm.image.DebianCustomization.Stage;
import dev.hako.vmm.image.DebianCustomization.SystemFile;
import dev.hako.vmm.image.ImageBuildException.Reason;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Builds a bootable bundle of a Debian 12 system with Debian's own tools only: mmdebstrap installs the system
 * into a directory (with {@link DebianCustomization}'s files and hooks), mkfs.ext4 -d makes the ext4 file
 * system of that directory in a sparse raw file, and {@link #DISK_WRITER} turns that into the bundle's disk;
 * the kernel and initrd are copied out of the system's /boot. The bundle appears complete or not at all (see
 * {@link BuildWorkspace}).
 *
 * <p>Before anything is built it checks, in this order, each failure with its own {@link Reason}: the target
 * directory is new or empty, the disk is not below the minimum, this process is root, the host tools are
 * installed, the mirror answers. After mmdebstrap it checks the disk can hold what was installed.
 */
public final class DebianImageBuilder {
    /** How new bundles store their disk: the one line to change to write qcow2 instead. */
    public static final BundleDiskWriter DISK_WRITER = BundleDiskWriter.QCOW2;
    public static final String KERNEL_FILE = "vmlinuz";
    public static final String INITRD_FILE = "initrd.img";
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(15);
    private static final Pattern NETWORK_FAILURE = Pattern.compile(
            "Temporary failure resolving|Could not resolve|Failed to fetch|Could not connect|Unable to connect"
                    + "|Network is unreachable|Connection timed out|Connection failed");
    private static final Pattern NO_SPACE = Pattern.compile("Could not allocate block|No space left|too small");
    private static final int FINGERPRINT_HEX_DIGITS = 20;

    private final HostTools host;
    private final BundleDiskWriter diskWriter;
    private final Consumer<String> progress;
    private volatile BuildWorkspace current;

    public DebianImageBuilder(HostTools host, Consumer<String> progress) {
        this(host, DISK_WRITER, progress);
    }

    public DebianImageBuilder(HostTools host, BundleDiskWriter diskWriter, Consumer<String> progress) {
        this.host = host;
        this.diskWriter = diskWriter;
        this.progress = progress;
    }

    /** Builds {@code spec} into the new bundle directory {@code directory} and returns the bundle, loaded back. */
    public Bundle build(DebianImageSpec spec, Path directory) throws ImageBuildException {
        checkTarget(directory);
        if (spec.diskBelowMinimum()) {
            throw new ImageBuildException(Reason.DISK_TOO_SMALL, "a disk of " + (spec.diskBytes() >> 20)
                    + " MiB cannot hold a Debian system; give at least " + (DebianImageSpec.MIN_DISK_BYTES >> 20)
                    + " MiB");
        }
        checkHost();
        new MirrorProbe(PROBE_TIMEOUT).check(spec.mirror(), DebianImageSpec.SUITE);
        long start = System.nanoTime();
        BuildWorkspace workspace;
        try {
            workspace = BuildWorkspace.create(directory, progress);
        } catch (IOException e) {
            throw new ImageBuildException(Reason.FAILED, "cannot make a directory next to " + directory + ": "
                    + e.getMessage(), List.of(), e);
        }
        current = workspace;
        Thread cancel = new Thread(workspace::cancel, "hako-image-cancel");
        Runtime.getRuntime().addShutdownHook(cancel);
        try {
            buildIn(workspace, spec, directory);
        } catch (IOException e) {
            if (workspace.cancelled()) {
                throw BuildWorkspace.interrupted();
            }
            throw new ImageBuildException(Reason.FAILED, "the build failed: " + e.getMessage(), List.of(), e);
        } finally {
            current = null;
            try {
                Runtime.getRuntime().removeShutdownHook(cancel);
            } catch (IllegalStateException shuttingDown) {
                // The hook is running: it cleans up.
            }
            workspace.close();
        }
        try {
            Bundle bundle = Bundle.load(directory);
            progress.accept("done in " + (System.nanoTime() - start) / 1_000_000_000 + " s: " + directory);
            return bundle;
        } catch (BundleFormatException e) {
            throw new ImageBuildException(Reason.FAILED, "the finished bundle does not load: " + e.getMessage());
        }
    }

    /**
     * Stops the build running in another thread, if any, and removes what it made; that build then throws
     * {@link Reason#INTERRUPTED}. Ctrl-C does the same through a shutdown hook.
     */
    public void cancel() {
        BuildWorkspace workspace = current;
        if (workspace != null) {
            workspace.cancel();
        }
    }

    private void buildIn(BuildWorkspace workspace, DebianImageSpec spec, Path directory)
            throws IOException, ImageBuildException {
        DebianCustomization customization = new DebianCustomization(spec, UUID.randomUUID());
        Path setup = workspace.work().resolve("setup");
        Path system = workspace.work().resolve("system");
        customization.writeSetup(setup);

        progress.accept("[1/4] installing " + DebianImageSpec.DISTRIBUTION + " from " + spec.mirror()
                + " with mmdebstrap");
        NetworkFailureWatch watch = new NetworkFailureWatch(new MmdebstrapProgress(progress));
        ToolRun install = workspace.run(Mmdebstrap.command(host.require(HostTools.MMDEBSTRAP), spec, system, setup),
                watch);
        if (install.status() != 0) {
            if (watch.failure != null) {
                throw new ImageBuildException(Reason.NO_NETWORK, "mmdebstrap could not download from "
                        + spec.mirror() + " (" + watch.failure.strip() + "): check the network, or pass --mirror URL",
                        install.tail(), null);
            }
            throw new ImageBuildException(Reason.FAILED, "mmdebstrap failed (exit " + install.status() + "): "
                    + install.lastLine(), install.tail(), null);
        }

        SystemSize size = SystemSize.of(system);
        if (spec.diskBytes() < size.diskBytesNeeded()) {
            throw new ImageBuildException(Reason.DISK_TOO_SMALL, "the system needs a disk of about "
                    + mib(size.diskBytesNeeded()) + " MiB, more than the " + mib(spec.diskBytes()) + " MiB asked for");
        }

        progress.accept("[2/4] copying the kernel and initrd out of the system");
        Path kernel = bootFile(system, KERNEL_FILE);
        Files.copy(kernel, workspace.root().resolve(KERNEL_FILE));
        Files.copy(bootFile(system, INITRD_FILE), workspace.root().resolve(INITRD_FILE));

        progress.accept("[3/4] making the ext4 file system: " + mib(size.bytes()) + " MiB in " + size.files()
                + " files on a " + mib(spec.diskBytes()) + " MiB disk (mkfs.ext4 -d)");
        Path filesystem = workspace.root().resolve(".filesystem.ext4");
        try (RandomAccessFile file = new RandomAccessFile(filesystem.toFile(), "rw")) {
            file.setLength(spec.diskBytes());  // sparse: blocks are allocated only where mkfs writes
        }
        ToolRun mkfs = workspace.run(List.of(host.require(HostTools.MKFS_EXT4).toString(), "-q", "-F",
                "-L", DebianCustomization.FILESYSTEM_LABEL, "-U", customization.rootUuid().toString(),
                "-d", system.toString(), filesystem.toString()), line -> { });
        if (mkfs.status() != 0) {
            boolean full = mkfs.tail().stream().anyMatch(l -> NO_SPACE.matcher(l).find());
            throw new ImageBuildException(full ? Reason.DISK_TOO_SMALL : Reason.FAILED,
                    "mkfs.ext4 failed (exit " + mkfs.status() + "): " + mkfs.lastLine(), mkfs.tail(), null);
        }
        workspace.removeWork();

        progress.accept("[4/4] writing the bundle");
        BundleDisk disk = diskWriter.write(filesystem, workspace.root());
        Files.deleteIfExists(filesystem);
        String kernelName = kernel.getFileName().toString();
        SequencedMap<String, String> about = new LinkedHashMap<>();
        about.put("system", DebianImageSpec.DISTRIBUTION);
        about.put("kernel", kernelName.substring(kernelName.indexOf('-') + 1));
        about.put("packages", String.join(",", spec.packages()));
        about.put("mirror", spec.mirror().toString());
        about.put("login", "root on the serial console without a password; ssh as root with a key only");
        about.put("created", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        about.put("recipe", fingerprint(spec));
        new Bundle(workspace.root(), KERNEL_FILE, INITRD_FILE, customization.cmdline(), disk, spec.memoryMiB(),
                spec.cpus(), about).write();
        workspace.commit(directory);
    }

    /**
     * A name for everything that decides what a build of {@code spec} contains: the mmdebstrap command, the
     * hooks, the files and the bundle's settings (not the random file system UUID). Equal specs built by the same
     * hako have equal fingerprints; tests cache built images under it.
     */
    public static String fingerprint(DebianImageSpec spec) {
        DebianCustomization customization = new DebianCustomization(spec, new UUID(0, 0));
        StringBuilder recipe = new StringBuilder("hako debian image 2 (qcow2 disk)\n");
        Mmdebstrap.command(Path.of("mmdebstrap"), spec, Path.of("/system"), Path.of("/setup"))
                .forEach(argument -> recipe.append(argument).append('\n'));
        for (Stage stage : Stage.values()) {
            recipe.append(customization.hook(stage));
        }
        for (SystemFile file : customization.files()) {
            recipe.append(file.path()).append(' ').append(file.mode()).append('\n').append(file.content());
        }
        recipe.append(customization.cmdline()).append('\n').append(spec.diskBytes()).append(' ')
                .append(spec.memoryMiB()).append(' ').append(spec.cpus()).append('\n');
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest(recipe.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest).substring(0, FINGERPRINT_HEX_DIGITS);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    private static void checkTarget(Path directory) throws ImageBuildException {
        if (Files.exists(directory) && !Files.isDirectory(directory)) {
            throw new ImageBuildException(Reason.USAGE, directory + " exists and is not a directory");
        }
        if (Files.isDirectory(directory)) {
            try (Stream<Path> entries = Files.list(directory)) {
                if (entries.findAny().isPresent()) {
                    throw new ImageBuildException(Reason.USAGE, directory
                            + " exists and is not empty; give a new directory for the bundle");
                }
            } catch (IOException e) {
                throw new ImageBuildException(Reason.USAGE, directory + " cannot be read: " + e.getMessage());
            }
        }
    }

    private void checkHost() throws ImageBuildException {
        if (!host.isRoot()) {
            throw new ImageBuildException(Reason.NOT_ROOT, "building an image needs root (mmdebstrap installs "
                    + "packages in a chroot, mkfs.ext4 -d keeps the files' owners): run it as root or with sudo");
        }
        List<String> missing = host.missingPackages();
        if (!missing.isEmpty()) {
            String tools = HostTools.REQUIRED.stream().filter(t -> missing.contains(t.debianPackage()))
                    .map(HostTools.Tool::command).reduce((a, b) -> a + " and " + b).orElse("the Debian keyring");
            throw new ImageBuildException(Reason.MISSING_TOOL, "building an image needs " + tools
                    + ", which this host lacks: apt-get install " + String.join(" ", missing));
        }
    }

    /** The file the system's /NAME symlink points to (Debian keeps /vmlinuz and /initrd.img pointing into /boot). */
    private static Path bootFile(Path system, String name) throws ImageBuildException, IOException {
        Path link = system.resolve(name);
        if (Files.isSymbolicLink(link)) {
            String target = Files.readSymbolicLink(link).toString();
            // Resolved inside the system, never on the host, whichever way the link is written.
            Path file = system.resolve(target.replaceFirst("^/+", "")).normalize();
            if (file.startsWith(system.resolve("boot")) && Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                return file;
            }
        }
        throw new ImageBuildException(Reason.FAILED, "the installed system has no /" + name + " pointing to a file "
                + "in /boot: did the kernel package install?");
    }

    private static long mib(long bytes) {
        return (bytes + (1L << 20) - 1) >> 20;
    }

    /** Passes lines on and remembers the first that says apt could not reach the network. */
    private static final class NetworkFailureWatch implements Consumer<String> {
        private final Consumer<String> next;
        private String failure;

        NetworkFailureWatch(Consumer<String> next) {
            this.next = next;
        }

        @Override
        public void accept(String line) {
            if (failure == null && NETWORK_FAILURE.matcher(line).find()) {
                failure = line;
            }
            next.accept(line);
        }
    }
}
