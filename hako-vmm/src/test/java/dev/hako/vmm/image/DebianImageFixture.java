package dev.hako.vmm.image;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/**
 * The Debian image the tests boot, built once and shared: by every test of a JVM, and by every JVM on the host
 * through a cache directory named by the recipe's fingerprint, {@code <hako.cache>/images/<fingerprint>/} (a
 * changed recipe builds anew; delete the directory to rebuild). A file lock next to it keeps two test JVMs
 * from building at once: the second waits and then finds the bundle.
 *
 * <p>The image is {@link DebianImageSpec#defaults()} plus {@link #PACKAGES} (what tests run in the guest beyond
 * the base system), with root's authorized key from a key pair kept in the cache ({@code images/test-key}), so
 * that tests can log in over ssh. Building needs root, mmdebstrap,
 * e2fsprogs and ssh-keygen; without them the calling test is skipped, saying which is missing.
 *
 * <p>Tests in any package of hako-vmm use it; a test must boot a copy of the disk, never the cached one.
 */
public final class DebianImageFixture {
    /** A built bundle and the private key its root accepts. */
    public record Image(Bundle bundle, Path privateKey) {
    }

    /** Debian's pciutils: {@code lspci} lists the guest's PCI functions for DiskCrashIT. */
    public static final List<String> PACKAGES = List.of("pciutils");

    private static Image image;

    private DebianImageFixture() {
    }

    public static synchronized Image image() throws IOException, ImageBuildException {
        if (image == null) {
            image = buildOrReuse();
        }
        return image;
    }

    private static Image buildOrReuse() throws IOException, ImageBuildException {
        HostTools host = HostTools.ofThisProcess();
        Assumptions.assumeTrue(host.isRoot(), "building the Debian image needs root");
        Assumptions.assumeTrue(host.missingPackages().isEmpty(),
                () -> "building the Debian image needs: apt-get install " + String.join(" ", host.missingPackages()));
        Assumptions.assumeTrue(host.find("ssh-keygen").isPresent(), "the test key needs ssh-keygen (openssh-client)");
        Path images = Files.createDirectories(DebianPackages.cacheRoot().resolve("images"));
        try (FileChannel lockFile = FileChannel.open(images.resolve(".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE); FileLock lock = lockFile.lock()) {
            Path key = testKey(images, host);
            DebianImageSpec defaults = DebianImageSpec.defaults();
            DebianImageSpec spec = new DebianImageSpec(defaults.mirror(), PACKAGES, "", defaults.hostname(),
                    defaults.diskBytes(), defaults.memoryMiB(), defaults.cpus())
                    .withAuthorizedKeys(Files.readString(key.resolveSibling(key.getFileName() + ".pub")));
            Path directory = images.resolve(DebianImageBuilder.fingerprint(spec));
            if (Files.isDirectory(directory)) {
                try {
                    return new Image(Bundle.load(directory), key);
                } catch (BundleFormatException e) {
                    System.err.println("image fixture: rebuilding, the cached bundle is broken: " + e.getMessage());
                    run(List.of("rm", "-rf", "--one-file-system", "--", directory.toString()));
                }
            }
            long start = System.nanoTime();
            Bundle bundle = new DebianImageBuilder(host, line -> System.err.println("image fixture: " + line))
                    .build(spec, directory);
            System.err.printf("image fixture: built %s in %.1f s%n", directory, (System.nanoTime() - start) / 1e9);
            return new Image(bundle, key);
        }
    }

    /** The test key pair (ed25519, no passphrase), made once. */
    private static Path testKey(Path images, HostTools host) throws IOException {
        Path key = images.resolve("test-key");
        if (!Files.exists(key)) {
            run(List.of(host.find("ssh-keygen").orElseThrow().toString(), "-q", "-t", "ed25519", "-N", "",
                    "-C", "hako-test", "-f", key.toString()));
        }
        return key;
    }

    private static void run(List<String> command) throws IOException {
        String result;
        try {
            result = HostCommand.run(command.toArray(String[]::new));
        } catch (Exception e) {
            throw new IOException(command.getFirst() + " failed: " + e, e);
        }
        if (!result.startsWith("0:")) {
            throw new IOException(String.join(" ", command) + " failed: " + result.strip());
        }
    }
}
