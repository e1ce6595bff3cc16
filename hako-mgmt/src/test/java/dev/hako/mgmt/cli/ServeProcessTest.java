package dev.hako.mgmt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hako serve} and {@code hako vm} as separate processes, as a user runs them: the server makes its socket
 * 0600 and its token file 0600, the client's answers and exit statuses, and a SIGTERM ends the server.
 */
class ServeProcessTest {
    @TempDir
    Path dir;

    @Test
    void aServerProcessAnswersTheClientProcess() throws Exception {
        Path state = dir.resolve("state");
        Path socket = dir.resolve("hako.sock");
        Process server = new ProcessBuilder(HakoProcess.command(List.of(), "serve", "--socket", socket.toString(),
                "--state", state.toString(), "--listen", "127.0.0.1:0"))
                .redirectErrorStream(true).redirectOutput(dir.resolve("server.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(socket) || !Files.readString(dir.resolve("server.log")).contains("serving")) {
                assertThat(server.isAlive()).as(Files.readString(dir.resolve("server.log"))).isTrue();
                assertThat(System.nanoTime()).as("the server did not start").isLessThan(deadline);
                TimeUnit.MILLISECONDS.sleep(100);
            }
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state.resolve("token"))))
                    .isEqualTo("rw-------");

            CliResult created = vm(socket, "create", "box", "--memory", "64M");
            assertThat(created.status()).as(created.err()).isZero();
            assertThat(created.out()).contains("box defined");
            CliResult list = vm(socket, "list");
            assertThat(list.out()).containsPattern("box\\s+defined\\s+1\\s+64M");
            assertThat(list.err()).isEmpty();
            assertThat(vm(socket, "show", "nope").status()).isEqualTo(ExitStatus.NO_SUCH_VM);
            assertThat(vm(socket, "create", "box").status()).isEqualTo(ExitStatus.CONFLICT);
            assertThat(Files.readString(state.resolve("box.json"))).contains("\"memory_mib\" : 64");
        } finally {
            server.destroy();
            assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(vm(socket, "list").status()).isEqualTo(ExitStatus.UNREACHABLE);
    }

    private static CliResult vm(Path socket, String... args) throws Exception {
        String[] all = new String[args.length + 3];
        all[0] = "vm";
        System.arraycopy(args, 0, all, 1, args.length);
        all[args.length + 1] = "--socket";
        all[args.length + 2] = socket.toString();
        return HakoProcess.run(HakoProcess.command(List.of(), all), new byte[0], 60);
    }
}
