package dev.hako.usermode;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Lexical name handling under a root: ".." never climbs above "/". */
class GuestPathsTest {
    @Test
    void normalizeKeepsNamesUnderTheRoot() {
        assertThat(GuestPaths.normalize("/")).isEqualTo("/");
        assertThat(GuestPaths.normalize("/a/./b//c/")).isEqualTo("/a/b/c");
        assertThat(GuestPaths.normalize("/a/b/../../../../etc/passwd")).isEqualTo("/etc/passwd");
        assertThat(GuestPaths.normalize("/..")).isEqualTo("/");
        assertThat(GuestPaths.normalize("/a/..b/c")).isEqualTo("/a/..b/c");
    }
}
