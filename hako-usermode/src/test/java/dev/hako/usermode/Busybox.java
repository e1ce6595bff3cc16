package dev.hako.usermode;

import dev.hako.testkit.CPrograms;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Debian's busybox-static, fetched once into the cache directory: {@code apt-get download busybox-static}
 * and {@code dpkg-deb -x}.
 */
final class Busybox {
    private static Path binary;

    private Busybox() {}

    static synchronized Path binary() throws IOException, InterruptedException {
        if (binary != null) {
            return binary;
        }
        Path cache = GuestRun.cacheDir();
        Path tree = cache.resolve("busybox-static");
        Path bin = tree.resolve("bin/busybox");
        if (!Files.isExecutable(bin)) {
            Path deb = findDeb(cache);
            if (deb == null) {
                CPrograms.command(cache, List.of("apt-get", "download", "busybox-static"));
                deb = findDeb(cache);
            }
            if (deb == null) {
                throw new IllegalStateException("apt-get download busybox-static left no .deb in " + cache);
            }
            CPrograms.command(cache, List.of("dpkg-deb", "-x", deb.toString(), tree.toString()));
        }
        binary = bin;
        return bin;
    }

    private static Path findDeb(Path cache) throws IOException {
        try (Stream<Path> files = Files.list(cache)) {
            return files.filter(p -> p.getFileName().toString().startsWith("busybox-static_")
                    && p.getFileName().toString().endsWith(".deb")).findFirst().orElse(null);
        }
    }
}
