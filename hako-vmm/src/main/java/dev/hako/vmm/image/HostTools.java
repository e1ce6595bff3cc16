package dev.hako.vmm.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The host programs an image build runs, where they are, and which Debian package brings each one; and whether
 * this process is root. Lookups search PATH and then the sbin directories, which a non-login root shell's PATH
 * may lack.
 */
public final class HostTools {
    /** A program and the Debian package that installs it. */
    public record Tool(String command, String debianPackage) {
    }

    public static final Tool MMDEBSTRAP = new Tool("mmdebstrap", "mmdebstrap");
    public static final Tool MKFS_EXT4 = new Tool("mkfs.ext4", "e2fsprogs");
    public static final List<Tool> REQUIRED = List.of(MMDEBSTRAP, MKFS_EXT4);
    /** mmdebstrap checks the Debian archive's signatures with the host's copy of its keys. */
    public static final Path DEBIAN_KEYRING = Path.of("/usr/share/keyrings/debian-archive-keyring.gpg");
    public static final String KEYRING_PACKAGE = "debian-archive-keyring";

    private static final List<Path> SBIN = List.of(Path.of("/usr/local/sbin"), Path.of("/usr/sbin"), Path.of("/sbin"));

    private final List<Path> searchPath;
    private final int uid;
    private final Path keyring;

    public HostTools(List<Path> searchPath, int uid, Path keyring) {
        this.searchPath = List.copyOf(searchPath);
        this.uid = uid;
        this.keyring = keyring;
    }

    /** This process's user and PATH, and the host's Debian keyring. */
    public static HostTools ofThisProcess() {
        Set<Path> path = new LinkedHashSet<>();
        String env = System.getenv("PATH");
        if (env != null) {
            for (String entry : env.split(":")) {
                if (!entry.isEmpty()) {
                    path.add(Path.of(entry));
                }
            }
        }
        path.addAll(SBIN);
        int uid;
        try {
            // /proc/self belongs to the process's effective user.
            uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | UnsupportedOperationException e) {
            uid = -1;
        }
        return new HostTools(new ArrayList<>(path), uid, DEBIAN_KEYRING);
    }

    public boolean isRoot() {
        return uid == 0;
    }

    /** The executable {@code command} found first on the search path. */
    public Optional<Path> find(String command) {
        for (Path directory : searchPath) {
            Path candidate = directory.resolve(command);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** The executable of {@code tool}; call after {@link #missingPackages()} came back empty. */
    public Path require(Tool tool) {
        return find(tool.command()).orElseThrow(() -> new IllegalStateException(tool.command() + " is not installed"));
    }

    /** The Debian packages to install before a build can run: those of missing tools, and the keyring's. */
    public List<String> missingPackages() {
        List<String> missing = new ArrayList<>();
        for (Tool tool : REQUIRED) {
            if (find(tool.command()).isEmpty()) {
                missing.add(tool.debianPackage());
            }
        }
        if (!Files.isRegularFile(keyring)) {
            missing.add(KEYRING_PACKAGE);
        }
        return missing;
    }
}
