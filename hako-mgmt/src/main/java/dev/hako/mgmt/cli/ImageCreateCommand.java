package dev.hako.mgmt.cli;

import dev.hako.vmm.image.DebianImageBuilder;
import dev.hako.vmm.image.DebianImageSpec;
import dev.hako.vmm.image.HostTools;
import dev.hako.vmm.image.ImageBuildException;
import dev.hako.vmm.image.ImageBuildException.Reason;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code hako image create DIR}: a Debian 12 system with systemd, built with mmdebstrap and mkfs.ext4, as a
 * bundle that {@code hako run DIR} boots. Every failure is one line on stderr and an exit status of its own.
 */
@Command(name = "create", sortOptions = false, mixinStandardHelpOptions = true,
        description = {
            "Build a Debian 12 (bookworm) system with systemd, ssh and DHCP networking into the new bundle "
                    + "directory DIR: the disk (ext4, made with mmdebstrap and mkfs.ext4 -d), the kernel and initrd "
                    + "copied out of it, and bundle.json. Needs root, mmdebstrap and e2fsprogs, and the network.",
            "On the serial console root is logged in without a password; ssh takes root's key (--ssh-key) and "
                    + "never a password. Once booted, the console shows 'hako: system is running'."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "0:the bundle is complete",
            "1:a step failed (mmdebstrap, mkfs.ext4, I/O); nothing is left behind",
            "64:wrong usage: a bad option, or DIR exists and is not empty",
            "3:not root",
            "4:a host tool is missing (the message names the Debian package)",
            "5:no network: the Debian mirror cannot be reached",
            "6:the disk (--size) is too small for the system",
            "130:interrupted (Ctrl-C); nothing is left behind"})
final class ImageCreateCommand implements Callable<Integer> {
    static final int FAILED = 1;
    static final int USAGE = ExitStatus.USAGE;
    static final int NOT_ROOT = 3;
    static final int MISSING_TOOL = 4;
    static final int NO_NETWORK = 5;
    static final int DISK_TOO_SMALL = 6;
    static final int INTERRUPTED = 130;
    /** The bundle's own ssh key pair, in the bundle directory: root's authorized key, used by hako run's hint. */
    static final String BUNDLE_KEY = "ssh-key";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--size", paramLabel = "SIZE", defaultValue = "4G",
            description = "Disk size; the disk file is sparse (default: ${DEFAULT-VALUE}).")
    String size;

    @Option(names = "--packages", paramLabel = "PKG", split = ",",
            description = "More Debian packages to install (without their recommends).")
    List<String> packages = new ArrayList<>();

    @Option(names = "--ssh-key", paramLabel = "FILE",
            description = "OpenSSH public key file (e.g. ~/.ssh/id_ed25519.pub) for root's authorized_keys.")
    Path sshKey;

    @Option(names = "--mirror", paramLabel = "URL", defaultValue = "http://deb.debian.org/debian",
            description = "Debian mirror (default: ${DEFAULT-VALUE}, with security updates from "
                    + "deb.debian.org/debian-security).")
    String mirror;

    @Option(names = "--hostname", paramLabel = "NAME", defaultValue = DebianImageSpec.DEFAULT_HOSTNAME,
            description = "The system's host name (default: ${DEFAULT-VALUE}).")
    String hostname;

    @Option(names = "--memory", paramLabel = "SIZE", defaultValue = "1G",
            description = "Memory the bundle asks for (default: ${DEFAULT-VALUE}).")
    String memory;

    @Option(names = "--cpus", paramLabel = "N", defaultValue = "1",
            description = "vCPUs the bundle asks for (default: ${DEFAULT-VALUE}).")
    int cpus;

    @Parameters(paramLabel = "DIR", description = "The bundle directory to create (new, or empty).")
    Path directory;

    /** The host the build runs on; tests give one without root or tools. */
    HostTools host = HostTools.ofThisProcess();

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        DebianImageSpec image;
        try {
            image = imageSpec();
        } catch (IllegalArgumentException e) {
            return fail(err, USAGE, e.getMessage());
        }
        DebianImageBuilder builder = new DebianImageBuilder(host, line -> {
            err.println("hako: " + line);
            err.flush();
        });
        Path keyDirectory = null;
        try {
            keyDirectory = Files.createTempDirectory("hako-ssh-key-");
            Path key = generateKey(keyDirectory);
            if (key != null) {
                image = image.withAuthorizedKeys((image.authorizedKeys().strip() + "\n"
                        + Files.readString(key.resolveSibling(BUNDLE_KEY + ".pub"))).strip());
            }
            builder.build(image, directory);
            if (key != null) {
                Files.move(key, directory.resolve(BUNDLE_KEY));
                Files.move(key.resolveSibling(BUNDLE_KEY + ".pub"), directory.resolve(BUNDLE_KEY + ".pub"));
            }
            return 0;
        } catch (IOException e) {
            return fail(err, FAILED, "the bundle's ssh key: " + e.getMessage());
        } catch (ImageBuildException e) {
            for (String line : e.details()) {
                err.println("    " + line);
            }
            return fail(err, status(e.reason()), e.getMessage());
        } catch (RuntimeException | LinkageError e) {
            // A bug in hako: still one line, with what it was.
            return fail(err, FAILED, "unexpected failure: " + e);
        } finally {
            deleteKeyDirectory(keyDirectory);
        }
    }

    /**
     * A key pair for this bundle alone (as Lima makes one per instance), whose public half root accepts, so that
     * {@code hako run} can print an ssh command that works; null where ssh-keygen is missing.
     */
    private Path generateKey(Path keyDirectory) throws IOException {
        Path keygen = host.find("ssh-keygen").orElse(null);
        if (keygen == null) {
            return null;
        }
        Path key = keyDirectory.resolve(BUNDLE_KEY);
        try {
            Process p = new ProcessBuilder(keygen.toString(), "-q", "-t", "ed25519", "-N", "", "-C",
                    "hako-bundle", "-f", key.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (p.waitFor() != 0) {
                throw new IOException("ssh-keygen failed: " + out.strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        return key;
    }

    private static void deleteKeyDirectory(Path keyDirectory) {
        if (keyDirectory != null) {
            try (var files = Files.list(keyDirectory)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
                Files.deleteIfExists(keyDirectory);
            } catch (IOException e) {
                // a temporary directory left behind is harmless
            }
        }
    }

    private DebianImageSpec imageSpec() {
        long diskBytes = SizeArgument.parse("--size", size);
        long memoryBytes = SizeArgument.parse("--memory", memory);
        URI mirrorUrl;
        try {
            mirrorUrl = new URI(mirror);
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException("--mirror " + mirror + ": not a URL");
        }
        List<String> extra = packages.stream().map(String::strip).filter(p -> !p.isEmpty()).toList();
        return new DebianImageSpec(mirrorUrl, extra, authorizedKeys(), hostname, diskBytes,
                (int) Math.min(memoryBytes >> 20, Integer.MAX_VALUE), cpus);
    }

    private String authorizedKeys() {
        if (sshKey == null) {
            return "";
        }
        String text;
        try {
            text = Files.readString(sshKey, StandardCharsets.UTF_8);
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new IllegalArgumentException("--ssh-key " + sshKey + ": cannot be read ("
                    + (Files.exists(sshKey) ? e.getClass().getSimpleName() : "no such file") + ")");
        }
        if (text.contains("PRIVATE KEY")) {
            throw new IllegalArgumentException("--ssh-key " + sshKey + " is a private key; give the public one (.pub)");
        }
        return text;
    }

    static int status(Reason reason) {
        return switch (reason) {
            case USAGE -> USAGE;
            case NOT_ROOT -> NOT_ROOT;
            case MISSING_TOOL -> MISSING_TOOL;
            case NO_NETWORK -> NO_NETWORK;
            case DISK_TOO_SMALL -> DISK_TOO_SMALL;
            case INTERRUPTED -> INTERRUPTED;
            case FAILED -> FAILED;
        };
    }

    private static int fail(PrintWriter err, int status, String message) {
        err.println("hako image create: " + message);
        err.flush();
        return status;
    }
}
