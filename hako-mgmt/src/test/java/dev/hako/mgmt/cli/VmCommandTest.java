package dev.hako.mgmt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hako.host.Host;
import dev.hako.host.VmStore;
import dev.hako.mgmt.api.ApiServer;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code hako vm} against a server in this JVM (no VM boots): create with hako run's options, list, show, the
 * JSON for scripts, set-cpu, delete, and the exit statuses that tell failures apart.
 */
class VmCommandTest {
    @TempDir
    Path state;
    Host host;
    ApiServer server;
    Path socket;

    @BeforeEach
    void serve() throws Exception {
        socket = state.resolve("hako.sock");
        host = new Host(new VmStore(state), new PrintStream(OutputStream.nullOutputStream()));
        server = new ApiServer(host, socket, null, null, new PrintStream(OutputStream.nullOutputStream()));
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
        host.close();
    }

    record Run(int status, String out, String err) {}

    Run vm(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        List<String> all = new ArrayList<>(List.of("vm"));
        all.addAll(List.of(args));
        if (!all.contains("--socket")) {
            all.addAll(List.of("--socket", socket.toString()));
        }
        int status = cli.execute(all.toArray(String[]::new));
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void createTakesHakoRunsOptionsAndTheRestFollows() throws Exception {
        Path disk = Files.write(state.resolve("data.raw"), new byte[1 << 20]);
        Run created = vm("create", "web", "--memory", "256M", "--cpus", "2", "--disk", disk + ",readonly=on",
                "--net", "user,hostfwd=tcp:127.0.0.1:2222-:22", "--balloon=64M", "--append", "console=ttyS0 quiet",
                "--autostart");
        assertThat(created.status()).as(created.err()).isZero();
        assertThat(created.out()).contains("web defined");
        Run json = vm("show", "web", "--json");
        JsonNode config = VmClient.JSON.readTree(json.out()).path("config");
        assertThat(config.path("memory_mib").asInt()).isEqualTo(256);
        assertThat(config.path("vcpus").asInt()).isEqualTo(2);
        assertThat(config.path("disks").get(0).path("path").asText()).isEqualTo(disk.toString());
        assertThat(config.path("disks").get(0).path("readonly").asBoolean()).isTrue();
        assertThat(config.path("nets").get(0).path("type").asText()).isEqualTo("user");
        assertThat(config.path("nets").get(0).path("hostfwd").get(0).asText()).isEqualTo("tcp:127.0.0.1:2222-:22");
        assertThat(config.path("balloon_mib").asInt()).isEqualTo(64);
        assertThat(config.path("cmdline").asText()).isEqualTo("console=ttyS0 quiet");
        assertThat(config.path("autostart").asBoolean()).isTrue();

        Run list = vm("list");
        assertThat(list.out()).contains("NAME").containsPattern("web\\s+defined\\s+2\\s+256M");
        assertThat(vm("set-cpu", "web", "--entitlement", "0.35", "--uncapped", "--weight", "64").status()).isZero();
        JsonNode cpu = VmClient.JSON.readTree(vm("show", "web", "--json").out()).path("config").path("cpu");
        assertThat(cpu.path("entitlement").asDouble()).isEqualTo(0.35);
        assertThat(cpu.path("capped").asBoolean()).isFalse();
        assertThat(cpu.path("weight").asInt()).isEqualTo(64);
        assertThat(vm("delete", "web").status()).isZero();
        assertThat(vm("list", "--json").out().trim()).isEqualTo("[ ]");
    }

    @Test
    void snapshotNeedsARunningVmAndRestoreASnapshot() throws Exception {
        assertThat(vm("create", "web").status()).isZero();
        Run notRunning = vm("snapshot", "web", state.resolve("snap").toString());
        assertThat(notRunning.status()).isEqualTo(ExitStatus.CONFLICT);
        assertThat(notRunning.err()).contains("not running");
        assertThat(state.resolve("snap")).doesNotExist();

        Path empty = Files.createDirectory(state.resolve("empty"));
        Run notASnapshot = vm("restore", "web", empty.toString());
        assertThat(notASnapshot.status()).isEqualTo(ExitStatus.USAGE);
        assertThat(notASnapshot.err().strip()).contains(empty + " is not a snapshot").doesNotContain("\n");
        assertThat(vm("restore", "nope", empty.toString()).status()).isEqualTo(ExitStatus.NO_SUCH_VM);
        assertThat(vm("show", "web", "--json").out()).contains("\"state\" : \"defined\"");
    }

    @Test
    void exitStatusesTellFailuresApart() {
        assertThat(vm("create", "web").status()).isZero();
        Run again = vm("create", "web");
        assertThat(again.status()).isEqualTo(ExitStatus.CONFLICT);
        assertThat(again.err()).contains("exists already");
        assertThat(vm("show", "nope").status()).isEqualTo(ExitStatus.NO_SUCH_VM);
        assertThat(vm("start", "nope").status()).isEqualTo(ExitStatus.NO_SUCH_VM);
        assertThat(vm("pause", "web").status()).isEqualTo(ExitStatus.CONFLICT);
        Run badName = vm("create", "Web_1");
        assertThat(badName.status()).isEqualTo(ExitStatus.USAGE);
        assertThat(badName.err()).contains("name");
        assertThat(vm("set-cpu", "web", "--entitlement", "0.001").status()).isEqualTo(ExitStatus.USAGE);
        assertThat(vm("create", "x", "--memory", "1G", "--vsock", "3," + state.resolve("v.sock")).status())
                .isEqualTo(ExitStatus.USAGE);
        Run noServer = vm("list", "--socket", state.resolve("elsewhere.sock").toString());
        assertThat(noServer.status()).isEqualTo(ExitStatus.UNREACHABLE);
        assertThat(noServer.err()).contains("no server");
    }
}
