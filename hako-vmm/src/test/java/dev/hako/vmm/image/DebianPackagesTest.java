package dev.hako.vmm.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Uses the shared package cache (fetched once with apt); a host without apt gets a message naming --kernel. */
class DebianPackagesTest {
    private final DebianPackages packages = DebianPackages.inDefaultCache();

    @Test
    void kernelIsFoundThroughTheMetapackagesDependency() throws Exception {
        Path vmlinuz = packages.debianKernel();
        assertThat(vmlinuz.getFileName().toString()).startsWith("vmlinuz-").endsWith("-cloud-amd64");
        assertThat(Files.size(vmlinuz)).isGreaterThan(4 << 20);
        Path meta = packages.download(DebianPackages.KERNEL_PACKAGE, "");
        assertThat(packages.dependencies(meta)).anyMatch(d -> d.startsWith("linux-image-") && d.endsWith("-cloud-amd64"));
    }

    @Test
    void busyboxIsAStaticExecutable() throws Exception {
        Path busybox = packages.busybox();
        byte[] head = java.util.Arrays.copyOf(Files.readAllBytes(busybox), 4);
        assertThat(head).containsExactly(0x7F, 'E', 'L', 'F');
        assertThat(Files.isExecutable(busybox)).isTrue();
    }

    @Test
    void cachedPackagesAreNotFetchedAgain() throws Exception {
        packages.busybox();
        // With apt-get gone, the cache alone must still answer.
        DebianPackages offline = new DebianPackages(packages.directory(), "/nonexistent/apt-get");
        assertThat(offline.busybox()).isEqualTo(packages.busybox());
    }

    @Test
    void hostWithoutAptIsToldToPassAKernel(@TempDir Path emptyCache) {
        DebianPackages noApt = new DebianPackages(emptyCache, "/nonexistent/apt-get");
        assertThatThrownBy(noApt::debianKernel).hasMessageContaining("not available on this host")
                .hasMessageContaining("pass --kernel");
    }

    @Test
    void unknownPackageFailsWithAptsReason(@TempDir Path emptyCache) {
        DebianPackages cache = new DebianPackages(emptyCache);
        assertThatThrownBy(() -> cache.download("hako-no-such-package-xyz", "pass --kernel"))
                .hasMessageContaining("apt-get download hako-no-such-package-xyz failed");
    }

    @Test
    void namesThatAreNotPackageNamesAreRefused() {
        assertThatThrownBy(() -> packages.download("../etc", "")).isInstanceOf(IllegalArgumentException.class);
    }
}
