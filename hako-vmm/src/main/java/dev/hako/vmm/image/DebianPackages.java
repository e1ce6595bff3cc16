package dev.hako.vmm.image;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Debian packages fetched once with the host's apt ({@code apt-get download}) into a cache directory and unpacked
 * with {@code dpkg-deb -x}. A file is looked up inside a package and, when the package is a metapackage such as
 * linux-image-cloud-amd64, inside the packages it depends on (read from the cached .deb's control file, so a warm
 * cache needs no apt at all). The cache is {@code <hako.cache>/debs}, where the system property hako.cache
 * defaults to ~/.cache/hako.
 */
public final class DebianPackages {
    public static final String KERNEL_PACKAGE = "linux-image-cloud-amd64";
    public static final String BUSYBOX_PACKAGE = "busybox-static";
    private static final int DEPENDENCY_DEPTH = 2;

    private final Path debs;
    private final String aptGet;

    public DebianPackages(Path debs) {
        this(debs, "apt-get");
    }

    /** With another apt-get executable: tests use a missing one to see the error a host without apt gives. */
    DebianPackages(Path debs, String aptGet) {
        this.debs = debs;
        this.aptGet = aptGet;
    }

    public static DebianPackages inDefaultCache() {
        return new DebianPackages(cacheRoot().resolve("debs"));
    }

    public static Path cacheRoot() {
        String configured = System.getProperty("hako.cache");
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "hako");
    }

    public Path directory() {
        return debs;
    }

    /** Debian's cloud kernel bzImage (boot/vmlinuz-*). */
    public Path debianKernel() throws IOException {
        return findFile(KERNEL_PACKAGE, "boot/vmlinuz-*", "pass --kernel FILE to boot a kernel of your own");
    }

    /** Debian's statically linked busybox. */
    public Path busybox() throws IOException {
        return findFile(BUSYBOX_PACKAGE, "bin/busybox", "pass --initrd FILE to boot an initramfs of your own");
    }

    /**
     * The first file matching {@code glob} (relative to the package root, e.g. "boot/vmlinuz-*") in package
     * {@code name} or its dependencies. {@code hint} tells the user what to do when apt cannot fetch it.
     */
    public Path findFile(String name, String glob, String hint) throws IOException {
        return findFile(name, glob, hint, DEPENDENCY_DEPTH)
                .orElseThrow(() -> new IOException("no file " + glob + " in Debian package " + name
                        + " or its dependencies"));
    }

    private Optional<Path> findFile(String name, String glob, String hint, int depth) throws IOException {
        Path deb = download(name, hint);
        Path root = extract(deb);
        PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + glob);
        try (Stream<Path> files = Files.walk(root)) {
            Optional<Path> found = files.filter(p -> matcher.matches(root.relativize(p)) && Files.isRegularFile(p))
                    .sorted().findFirst();
            if (found.isPresent() || depth == 0) {
                return found;
            }
        }
        for (String dependency : dependencies(deb)) {
            Optional<Path> found = findFile(dependency, glob, hint, depth - 1);
            if (found.isPresent()) {
                return found;
            }
        }
        return Optional.empty();
    }

    /** The cached .deb of {@code name}, downloaded with apt-get when it is not cached yet. */
    public Path download(String name, String hint) throws IOException {
        if (!name.matches("[a-z0-9][a-z0-9+.-]+")) {
            throw new IllegalArgumentException("not a Debian package name: " + name);
        }
        Optional<Path> cached = cachedDeb(name);
        if (cached.isPresent()) {
            return cached.get();
        }
        Files.createDirectories(debs);
        Path staging = Files.createTempDirectory(debs, ".download-");
        try {
            String whenMissing = "apt-get is needed to fetch Debian's " + name + "; " + hint;
            try {
                run(List.of(aptGet, "download", name), staging, whenMissing);
            } catch (IOException e) {
                if (!String.valueOf(e.getMessage()).contains("Unable to locate package")) {
                    throw e;
                }
                // A fresh machine has no package lists yet: fetch them once (as root), then try again.
                run(List.of(aptGet, "update", "-q"), staging, "run 'apt-get update' as root, or " + hint);
                run(List.of(aptGet, "download", name), staging, whenMissing);
            }
            try (Stream<Path> files = Files.list(staging)) {
                for (Path deb : files.filter(p -> p.getFileName().toString().endsWith(".deb")).toList()) {
                    Files.move(deb, debs.resolve(deb.getFileName()), StandardCopyOption.ATOMIC_MOVE,
                            StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } finally {
            deleteTree(staging);
        }
        return cachedDeb(name).orElseThrow(() -> new IOException("apt-get download " + name + " produced no .deb"));
    }

    private Optional<Path> cachedDeb(String name) throws IOException {
        if (!Files.isDirectory(debs)) {
            return Optional.empty();
        }
        try (Stream<Path> files = Files.list(debs)) {
            return files.filter(p -> {
                String file = p.getFileName().toString();
                return file.startsWith(name + "_") && file.endsWith(".deb");
            }).sorted().reduce((first, second) -> second);
        }
    }

    /** Unpacks {@code deb} once into {@code extracted/<deb name>} and returns that directory. */
    public Path extract(Path deb) throws IOException {
        String stem = deb.getFileName().toString().replaceFirst("\\.deb$", "");
        Path target = debs.resolve("extracted").resolve(stem);
        if (Files.isDirectory(target)) {
            return target;
        }
        Files.createDirectories(target.getParent());
        Path staging = Files.createTempDirectory(target.getParent(), ".extract-");
        try {
            run(List.of("dpkg-deb", "-x", deb.toString(), staging.toString()), debs,
                    "dpkg-deb is needed to unpack " + deb.getFileName());
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            if (!Files.isDirectory(target)) {  // another process may have won the race
                throw e;
            }
        } finally {
            deleteTree(staging);
        }
        return target;
    }

    /** Package names in the Depends field of {@code deb}, without versions; of alternatives, the first. */
    public List<String> dependencies(Path deb) throws IOException {
        String depends = run(List.of("dpkg-deb", "-f", deb.toString(), "Depends"), debs,
                "dpkg-deb is needed to read " + deb.getFileName()).trim();
        List<String> names = new ArrayList<>();
        for (String clause : depends.split(",")) {
            String first = clause.split("\\|")[0].trim();
            String name = first.split("[\\s(:]")[0];
            if (!name.isEmpty()) {
                names.add(name);
            }
        }
        return names;
    }

    private static String run(List<String> command, Path directory, String whenMissing) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(false).start();
        } catch (IOException e) {
            throw new IOException(command.getFirst() + " is not available on this host: " + whenMissing, e);
        }
        p.getOutputStream().close();
        var stderr = new java.util.concurrent.CompletableFuture<String>();
        Thread.ofVirtual().start(() -> {
            try {
                stderr.complete(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                stderr.complete("");
            }
        });
        String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            int status = p.waitFor();
            if (status != 0) {
                throw new IOException(String.join(" ", command) + " failed (exit " + status + "): "
                        + stderr.join().strip() + "; " + whenMissing);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + command.getFirst(), e);
        }
        return stdout;
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
