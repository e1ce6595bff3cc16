package dev.hako.vmm.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Mount points below a build directory are found in mountinfo lines, escapes and all. */
class HostMountsTest {
    private static final List<String> MOUNTINFO = List.of(
            "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw",
            "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw",
            "91 22 0:21 / /tmp/.my\\040vm.partial-1/.build/system/proc rw,relatime - proc proc rw",
            "92 22 0:5 / /tmp/.my\\040vm.partial-1/.build/system/dev/pts rw,relatime - devpts devpts rw",
            "93 22 0:5 / /tmp/.my\\040vm.partial-10 rw,relatime - tmpfs tmpfs rw");

    @Test
    void findsMountsBelowTheDirectoryOnly() {
        assertThat(HostMounts.under(Path.of("/tmp/.my vm.partial-1"), MOUNTINFO)).containsExactly(
                Path.of("/tmp/.my vm.partial-1/.build/system/proc"),
                Path.of("/tmp/.my vm.partial-1/.build/system/dev/pts"));
        assertThat(HostMounts.under(Path.of("/srv"), MOUNTINFO)).isEmpty();
    }

    @Test
    void octalEscapesAreDecoded() {
        assertThat(HostMounts.unescape("/a\\040b\\011c\\134d\\012")).isEqualTo("/a b\tc\\d\n");
        assertThat(HostMounts.unescape("/plain\\x")).isEqualTo("/plain\\x");
    }

    @Test
    void thisHostsRootIsAMountPoint() {
        assertThat(HostMounts.under(Path.of("/"))).contains(Path.of("/"));
    }
}
