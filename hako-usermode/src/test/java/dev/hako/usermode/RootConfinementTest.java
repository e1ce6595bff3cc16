package dev.hako.usermode;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --root} confines names as a chroot does: Debian's busybox, run under a root whose symbolic links try
 * every way out (absolute, relative with {@code ../..}, a chain, through /proc/self/root, a linked directory,
 * {@code ..} past the root), reads only the root's files, never the host's, and cannot write outside it.
 */
class RootConfinementTest {
    private static final String HOST_SECRET = "host-secret\n", INSIDE = "inside\n";

    @TempDir
    Path dir;
    private Path root;
    private Path secret;

    @BeforeEach
    void tree() throws Exception {
        root = dir.resolve("root");
        Files.createDirectories(root.resolve("bin"));
        Files.createDirectories(root.resolve("sub/deeper"));
        Files.copy(Busybox.binary(), root.resolve("bin/busybox"));
        secret = dir.resolve("secret.txt");
        Files.writeString(secret, HOST_SECRET);
        Files.writeString(root.resolve("secret.txt"), INSIDE);
        // What each link means on the host; inside the root each must mean the root's secret.txt or nothing.
        Files.createSymbolicLink(root.resolve("absolute"), secret);                       // host path: missing inside
        Files.createSymbolicLink(root.resolve("rooted"), Path.of("/secret.txt"));
        Files.createSymbolicLink(root.resolve("sub/deeper/relative"), Path.of("../../../../../../secret.txt"));
        Files.createSymbolicLink(root.resolve("sub/deeper/up-one"), Path.of("../../../secret.txt"));
        Files.createSymbolicLink(root.resolve("chain1"), Path.of("chain2"));
        Files.createSymbolicLink(root.resolve("chain2"), Path.of("/sub/chain3"));
        Files.createSymbolicLink(root.resolve("sub/chain3"), Path.of("deeper/up-one"));
        Files.createSymbolicLink(root.resolve("proc-root"), Path.of("/proc/self/root" + secret));
        Files.createSymbolicLink(root.resolve("host-dir"), dir);
        Files.createSymbolicLink(root.resolve("bin/sh"), Path.of("/bin/busybox"));
        Files.createSymbolicLink(root.resolve("loop"), Path.of("loop"));
    }

    /** busybox sh runs {@code script} under the root. */
    private GuestRun.Result sh(String script) throws Exception {
        return GuestRun.hako(dir, null, root, "/bin/sh", "-c", script);
    }

    /** Shell code that prints each file's first line, or "refused NAME", with builtins only. */
    private static String readEach(String... files) {
        StringBuilder script = new StringBuilder();
        for (String f : files) {
            script.append("if read line < ").append(f).append("; then echo \"$line\"; else echo refused ").append(f)
                    .append("; fi; ");
        }
        return script.toString();
    }

    @Test
    void linksThatPointOutResolveInsideTheRoot() throws Exception {
        GuestRun.Result r = sh(readEach("/rooted", "/sub/deeper/relative", "sub/deeper/up-one", "/chain1",
                "/sub/deeper/../../../../secret.txt") + "cd /sub/deeper; " + readEach("relative", "../../../up"));
        assertThat(r.messages()).isEmpty();
        assertThat(r.out()).as(r.stderr()).isEqualTo("inside\n".repeat(6) + "refused ../../../up\n");
    }

    @Test
    void forkedChildrenAreConfinedToo() throws Exception {
        // A pipeline forks and execs: each child resolves names under the same root, with its own host fds.
        GuestRun.Result r = sh("/bin/busybox cat /rooted /sub/deeper/relative | /bin/busybox wc -l; "
                + "(cd /sub/deeper && /bin/busybox cat up-one /absolute 2>&1) | /bin/busybox sort");
        assertThat(r.out()).as(r.stderr()).doesNotContain("host-secret")
                .startsWith("2\n").contains("inside\n").contains("/absolute");
    }

    @Test
    void linksToHostPathsFindNothing() throws Exception {
        GuestRun.Result r = sh(readEach("/absolute", "/proc-root", "/host-dir/secret.txt", "/loop")
                + "test -e /absolute || echo no-absolute; test -d /host-dir || echo no-host-dir");
        assertThat(r.out()).as(r.stderr()).isEqualTo("refused /absolute\nrefused /proc-root\n"
                + "refused /host-dir/secret.txt\nrefused /loop\nno-absolute\nno-host-dir\n");
        assertThat(r.stderr()).contains("can't open /loop: Too many levels of symbolic links").doesNotContain("host-secret");
    }

    @Test
    void writesThroughLinksStayInside() throws Exception {
        GuestRun.Result r = sh("echo changed > /rooted; echo changed > /absolute; echo changed > /host-dir/new; "
                + "mkdir /host-dir/made");
        assertThat(r.status()).as(r.stderr()).isEqualTo(1);
        assertThat(Files.readString(secret)).isEqualTo(HOST_SECRET);
        assertThat(dir.resolve("new")).doesNotExist();
        assertThat(dir.resolve("made")).doesNotExist();
        assertThat(Files.readString(root.resolve("secret.txt"))).isEqualTo("changed\n");
    }

    @Test
    void chdirAndGetcwdSeeGuestNamesOnly() throws Exception {
        Files.createSymbolicLink(root.resolve("to-sub"), Path.of("/sub"));
        GuestRun.Result r = sh("cd /../../..; pwd -P; cd /sub/deeper && cd ../../../.. && pwd -P; "
                + "cd /host-dir && echo entered; cd /to-sub && pwd -P; ls /..");
        assertThat(r.out()).as(r.stderr()).startsWith("/\n/\n/sub\nabsolute\n")
                .contains("\nsecret.txt\n", "\nsub\n").doesNotContain("entered", "\nroot\n");
        assertThat(r.stderr()).contains("can't cd to /host-dir");
    }

    @Test
    void linksThemselvesReadAsWritten() throws Exception {
        assertThat(sh("readlink /absolute").out()).isEqualTo(secret + "\n");
        assertThat(sh("readlink /proc-root").out()).isEqualTo("/proc/self/root" + secret + "\n");
        assertThat(sh("cd /sub/deeper; readlink relative").out()).isEqualTo("../../../../../../secret.txt\n");
        assertThat(sh("readlink /proc/self/exe").out()).isEqualTo("/bin/sh\n");
    }

    @Test
    void theProgramItselfIsFoundInsideTheRoot() throws Exception {
        Files.delete(root.resolve("bin/sh"));
        Path onHost = Files.copy(Busybox.binary(), dir.resolve("sh-on-host"));
        Files.createSymbolicLink(root.resolve("bin/sh"), onHost);
        GuestRun.Result r = GuestRun.hako(dir, null, root, "/bin/sh", "-c", "echo ran");
        assertThat(r.status()).isEqualTo(127);
        assertThat(r.messages()).contains("no such file");
    }
}
