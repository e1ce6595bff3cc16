package dev.hako.mgmt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.vmm.image.HostTools;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code hako image create}'s answers to mistakes and to hosts that cannot build: one line on stderr (after the
 * failing tool's last lines, if a tool failed), never a Java exception, and the documented exit status. The host
 * (root or not, which tools exist) is a stand-in, so these run anywhere and build nothing.
 */
class ImageCreateCommandTest {
    private static final String KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBz5M2kq7c3Lr0u9o8xJH4kq4bOl5j8mB3rNnKkQyYkq me";

    @TempDir
    Path tmp;
    private HostTools rootWithTools;

    /** The exit status and what went to stderr. */
    private record Ran(int status, String err) {
    }

    @BeforeEach
    void host() throws IOException {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        for (String tool : List.of("mmdebstrap", "mkfs.ext4")) {
            Path file = Files.writeString(bin.resolve(tool), "#!/bin/sh\necho 'E: stand-in failed'\nexit 1\n");
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        rootWithTools = new HostTools(List.of(bin), 0, Files.writeString(tmp.resolve("keyring.gpg"), "keys"));
    }

    @Test
    void wrongOptionsAreUsageErrors() throws IOException {
        Files.writeString(tmp.resolve("id_ed25519"), "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n");
        Files.writeString(Files.createDirectories(tmp.resolve("used")).resolve("x"), "x");
        String vm = tmp.resolve("vm").toString();
        assertError(run(rootWithTools), ExitStatus.USAGE, "Missing required parameter: 'DIR' (see 'hako image create --help')");
        assertError(run(rootWithTools, "--size", "4X", vm), ExitStatus.USAGE, "--size 4X: not a size like 512M or 4G");
        assertError(run(rootWithTools, "--memory", "10M", vm), ExitStatus.USAGE, "memory must be from 64 MiB to");
        assertError(run(rootWithTools, "--cpus", "0", vm), ExitStatus.USAGE, "cpus must be from 1 to");
        assertError(run(rootWithTools, "--cpus", "many", vm), ExitStatus.USAGE, "Invalid value for option '--cpus'");
        assertError(run(rootWithTools, "--packages", "less,Bad_Name", vm), ExitStatus.USAGE, "not a Debian package name: \"Bad_Name\"");
        assertError(run(rootWithTools, "--hostname", "no_underscores", vm), ExitStatus.USAGE, "not a host name");
        assertError(run(rootWithTools, "--mirror", "ftp://x/debian", vm), ExitStatus.USAGE, "not a Debian mirror URL");
        assertError(run(rootWithTools, "--ssh-key", tmp.resolve("nokey.pub").toString(), vm), ExitStatus.USAGE,
                "--ssh-key " + tmp.resolve("nokey.pub") + ": cannot be read (no such file)");
        assertError(run(rootWithTools, "--ssh-key", tmp.resolve("id_ed25519").toString(), vm), ExitStatus.USAGE,
                "is a private key; give the public one (.pub)");
        assertError(run(rootWithTools, tmp.resolve("used").toString()), ExitStatus.USAGE, "exists and is not empty");
        assertError(run(rootWithTools, "--bogus", vm), ExitStatus.USAGE, "Unknown option: '--bogus'");
        assertThat(Files.exists(tmp.resolve("vm"))).isFalse();
    }

    @Test
    void aDiskBelowTheMinimumIsTooSmall() {
        assertError(run(rootWithTools, "--size", "100M", tmp.resolve("vm").toString()), 6,
                "a disk of 100 MiB cannot hold a Debian system; give at least 512 MiB");
    }

    @Test
    void theHostIsCheckedBeforeBuilding() {
        String vm = tmp.resolve("vm").toString();
        HostTools notRoot = new HostTools(List.of(tmp.resolve("bin")), 1000, tmp.resolve("keyring.gpg"));
        assertError(run(notRoot, vm), 3, "building an image needs root");
        HostTools bare = new HostTools(List.of(tmp.resolve("empty")), 0, tmp.resolve("keyring.gpg"));
        assertError(run(bare, vm), 4, "needs mmdebstrap and mkfs.ext4, which this host lacks: "
                + "apt-get install mmdebstrap e2fsprogs");
    }

    @Test
    void anUnreachableMirrorIsNoNetwork() throws IOException {
        int closed;
        try (ServerSocket socket = new ServerSocket(0)) {
            closed = socket.getLocalPort();
        }
        assertError(run(rootWithTools, "--mirror", "http://127.0.0.1:" + closed + "/debian",
                tmp.resolve("vm").toString()), 5, "cannot reach the Debian mirror http://127.0.0.1:" + closed
                + "/debian (connection refused): check the network, or pass --mirror URL");
    }

    @Test
    void aFailingToolShowsItsLastLinesThenOneLine() throws IOException {
        Path mirror = Files.createDirectories(tmp.resolve("mirror/dists/bookworm"));
        Files.writeString(mirror.resolve("InRelease"), "release");
        Files.writeString(tmp.resolve("id.pub"), KEY + "\n");
        Ran ran = run(rootWithTools, "--mirror", "file:" + tmp.resolve("mirror"), "--ssh-key",
                tmp.resolve("id.pub").toString(), tmp.resolve("vm").toString());
        assertThat(ran.status).as(ran.err).isEqualTo(1);
        assertThat(ran.err).contains("hako: [1/4] installing Debian 12 (bookworm)")
                .contains("    E: stand-in failed\n")
                .endsWith("hako image create: mmdebstrap failed (exit 1): E: stand-in failed\n")
                .doesNotContain("Exception").doesNotContain("at dev.hako");
        try (var left = Files.list(tmp)) {
            assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("vm"));
        }
    }

    @Test
    void otherCommandsUsageErrorsAreOneLineToo() {
        Ran ran = runMain("run", "--memory", "5X");
        assertThat(ran.status).isEqualTo(ExitStatus.USAGE);
        assertThat(ran.err).isEqualTo("hako: --memory 5X: not a size like 512M or 4G\n");
        String image = runMain("image").err;
        assertThat(image.lines()).hasSize(1);
        assertThat(image).startsWith("hako: say what to do: hako image create DIR");
    }

    private static void assertError(Ran ran, int status, String message) {
        assertThat(ran.status).as(ran.err).isEqualTo(status);
        assertThat(ran.err.lines()).as(ran.err).hasSize(1);
        // The command's own checks name it; picocli's parse errors come through hako's one-line handler.
        assertThat(ran.err).matches("(?s)(hako image create|hako): .*").contains(message)
                .doesNotContain("Exception").doesNotContain("at dev.hako");
    }

    private static Ran run(HostTools host, String... args) {
        String[] all = new String[args.length + 2];
        all[0] = "image";
        all[1] = "create";
        System.arraycopy(args, 0, all, 2, args.length);
        return runMain(host, all);
    }

    private static Ran runMain(String... args) {
        return runMain(null, args);
    }

    private static Ran runMain(HostTools host, String... args) {
        CommandLine main = Main.commandLine();
        if (host != null) {
            ImageCreateCommand create = main.getSubcommands().get("image").getSubcommands().get("create").getCommand();
            create.host = host;
        }
        StringWriter err = new StringWriter();
        main.setErr(new PrintWriter(err, true));
        main.setOut(new PrintWriter(new StringWriter(), true));
        int status = main.execute(args);
        return new Ran(status, err.toString());
    }
}
