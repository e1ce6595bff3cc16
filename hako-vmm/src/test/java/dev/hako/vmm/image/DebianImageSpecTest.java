package dev.hako.vmm.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a build is asked for is checked before anything runs; the fingerprint tells recipes apart. */
class DebianImageSpecTest {
    private static final String KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBz5M2kq7c3Lr0u9o8xJH4kq4bOl5j8mB3rNnKkQyYkq me@host";
    private final DebianImageSpec defaults = DebianImageSpec.defaults();

    @Test
    void defaultsAreTheDocumentedOnes() {
        assertThat(defaults.mirror()).isEqualTo(URI.create("http://deb.debian.org/debian"));
        assertThat(defaults.diskBytes()).isEqualTo(4L << 30);
        assertThat(defaults.memoryMiB()).isEqualTo(1024);
        assertThat(defaults.hostname()).isEqualTo("hako");
        assertThat(defaults.sources()).containsExactly(
                "deb http://deb.debian.org/debian bookworm main",
                "deb http://deb.debian.org/debian bookworm-updates main",
                "deb http://deb.debian.org/debian-security bookworm-security main");
    }

    @Test
    void anotherMirrorGetsNoSecurityArchiveItMayNotCarry() {
        DebianImageSpec local = new DebianImageSpec(URI.create("http://mirror.local:3142/debian/"), List.of(), "",
                "hako", 1L << 30, 1024, 1);
        assertThat(local.sources()).containsExactly("deb http://mirror.local:3142/debian bookworm main",
                "deb http://mirror.local:3142/debian bookworm-updates main");
    }

    @Test
    void extraPackagesComeAfterTheBaseOnesOnce() {
        DebianImageSpec spec = new DebianImageSpec(defaults.mirror(), List.of("less", "openssh-server", "vim-tiny"),
                "", "hako", 1L << 30, 1024, 1);
        assertThat(spec.allPackages()).startsWith(DebianImageSpec.BASE_PACKAGES.toArray(String[]::new))
                .endsWith("less", "vim-tiny").doesNotHaveDuplicates();
    }

    @Test
    void badInputIsRefusedWithWhatIsWrong() {
        assertThatThrownBy(() -> withPackages(List.of("Less"))).hasMessage("not a Debian package name: \"Less\"");
        assertThatThrownBy(() -> withPackages(List.of("a;rm -rf /"))).hasMessageStartingWith("not a Debian package name");
        assertThatThrownBy(() -> defaults.withAuthorizedKeys("-----BEGIN OPENSSH PRIVATE KEY-----"))
                .hasMessageStartingWith("not an OpenSSH public key");
        assertThatThrownBy(() -> new DebianImageSpec(URI.create("ftp://x/debian"), List.of(), "", "hako", 1L << 30,
                1024, 1)).hasMessageStartingWith("not a Debian mirror URL");
        assertThatThrownBy(() -> new DebianImageSpec(defaults.mirror(), List.of(), "", "-bad-", 1L << 30, 1024, 1))
                .hasMessageStartingWith("not a host name");
        assertThatThrownBy(() -> new DebianImageSpec(defaults.mirror(), List.of(), "", "hako", 1L << 30, 8, 1))
                .hasMessageStartingWith("memory must be from 64 MiB");
        assertThatThrownBy(() -> new DebianImageSpec(defaults.mirror(), List.of(), "", "hako", 1L << 30, 1024, 0))
                .hasMessageStartingWith("cpus must be from 1");
        assertThatThrownBy(() -> new DebianImageSpec(defaults.mirror(), List.of(), "", "hako", 1L << 50, 1024, 1))
                .hasMessageContaining("larger than hako makes");
    }

    @Test
    void publicKeysWithCommentsAndBlankLinesAreAccepted() {
        DebianImageSpec spec = defaults.withAuthorizedKeys("# mine\n" + KEY + "\n\n"
                + "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY= other\n");
        assertThat(spec.authorizedKeys()).contains(KEY);
    }

    @Test
    void diskSizesRoundUpToWholeMebibytes() {
        DebianImageSpec spec = new DebianImageSpec(defaults.mirror(), List.of(), "", "hako", (1L << 30) + 1, 1024, 1);
        assertThat(spec.diskBytes()).isEqualTo((1L << 30) + (1L << 20));
        assertThat(new DebianImageSpec(defaults.mirror(), List.of(), "", "hako", 100L << 20, 1024, 1)
                .diskBelowMinimum()).isTrue();
    }

    @Test
    void theFingerprintFollowsTheRecipeOnly() {
        String base = DebianImageBuilder.fingerprint(defaults);
        assertThat(base).hasSize(20).matches("[0-9a-f]+");
        assertThat(DebianImageBuilder.fingerprint(DebianImageSpec.defaults())).isEqualTo(base);
        assertThat(DebianImageBuilder.fingerprint(defaults.withAuthorizedKeys(KEY))).isNotEqualTo(base);
        assertThat(DebianImageBuilder.fingerprint(withPackages(List.of("less")))).isNotEqualTo(base);
        assertThat(DebianImageBuilder.fingerprint(new DebianImageSpec(defaults.mirror(), List.of(), "", "hako",
                8L << 30, 1024, 1))).isNotEqualTo(base);
    }

    private DebianImageSpec withPackages(List<String> packages) {
        return new DebianImageSpec(defaults.mirror(), packages, "", "hako", 1L << 30, 1024, 1);
    }
}
